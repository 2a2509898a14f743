/**
 * A table written record batch by record batch: an Arrow IPC file (written under a temporary
 * name, renamed when closed) or, for `-`, an Arrow IPC stream on stdout. For outputs that can
 * be larger than memory (e.g. `vsae encode`'s sparse codes); small tables use writeTable.
 */
import { RecordBatch, Schema, Struct, makeData, type Schema as ArrowSchema } from 'apache-arrow';
import { encodeRecordBatch } from './_ipc.js';
import { FileTarget, StreamTarget, type Target } from './dataset-write.js';
import { VsaeError } from './errors.js';
import { makeTable } from './table.js';
import type { TableColumnInput } from './types.js';

export class TableStreamWriter {
  private target: Target | undefined;
  private schema: ArrowSchema | undefined;
  private rows = 0;

  constructor(
    private readonly file: string,
    private readonly metadata: Record<string, string> = {},
    private readonly stdout: NodeJS.WritableStream = process.stdout,
  ) {}

  /** Rows written so far. */
  get numRows(): number {
    return this.rows;
  }

  /** True when the reader of stdout went away (`| head`): stop writing, it is not an error. */
  get downstreamClosed(): boolean {
    return this.target?.downstreamClosed ?? false;
  }

  /** Appends the rows of `columns` as one record batch; every call must give the same columns and types. */
  async write(columns: Record<string, TableColumnInput>): Promise<void> {
    const t = makeTable(columns, this.metadata);
    if (!this.schema) {
      this.schema = t.schema;
      this.target = this.file === '-' ? new StreamTarget(this.stdout, t.schema) : new FileTarget(this.file, t.schema);
    } else if (!sameFields(this.schema, t.schema)) {
      throw new VsaeError(`${this.file}: a batch's columns differ from the first batch's`);
    }
    for (const b of t.batches) {
      const batch = new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: b.numRows, nullCount: 0, children: b.data.children }));
      await this.target!.writeBatch(encodeRecordBatch(batch), b.numRows);
      this.rows += b.numRows;
    }
  }

  /** Ends the table (renames a file into place). A table with no batch still needs its columns: give `empty`. */
  async close(empty?: Record<string, TableColumnInput>): Promise<void> {
    if (!this.target && empty) await this.write(empty);
    await this.target?.finish();
  }

  /** Leaves nothing that looks complete: the temporary file is removed. */
  async abort(): Promise<void> {
    await this.target?.abort();
  }
}

function sameFields(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length && a.fields.every((f, i) => f.name === b.fields[i]!.name && String(f.type) === String(b.fields[i]!.type));
}
