#!/usr/bin/env node
// The bin only loads the compiled entry (run `npm run build` first; `npm install` does it).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
