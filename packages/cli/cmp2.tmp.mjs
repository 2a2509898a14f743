import { readMetrics, readSafetensors } from '@vsae/data';
const [a, b] = process.argv.slice(2);
const ma = await readMetrics(a + '/metrics.arrows'), mb = await readMetrics(b + '/metrics.arrows');
console.log(Object.keys(ma), Array.isArray(ma) ? ma.length : '');
const la = ma.loss ?? ma.rows?.map(r => r.loss), lb = mb.loss ?? mb.rows?.map(r => r.loss);
let worst = 0; for (let i = 0; i < la.length; i++) worst = Math.max(worst, Math.abs(la[i]-lb[i]) / Math.abs(la[i]));
console.log('steps', la.length, 'worst rel loss diff', worst);
const wa = readSafetensors(a + '/sae_weights.safetensors'), wb = readSafetensors(b + '/sae_weights.safetensors');
for (const k of wa.tensors.keys()) { const x = wa.getFloat32(k).data, y = wb.getFloat32(k).data; let d = 0, s = 0; for (let i = 0; i < x.length; i++) { d = Math.max(d, Math.abs(x[i]-y[i])); s = Math.max(s, Math.abs(x[i])); } console.log(k, 'max|d|', d, 'max|x|', s); }
