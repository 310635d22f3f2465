import { spawn } from 'node:child_process';

/**
 * The text a reader would copy out of a PDF, by poppler's pdftotext (Debian's poppler-utils, which
 * scripts/ensure-test-tools.sh installs), one string per page. `layout` keeps a table row on one
 * text line; `raw` keeps the order the text was drawn in.
 */
export function pdfText(pdf: Buffer, mode: 'layout' | 'raw' = 'layout'): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('pdftotext', ['-enc', 'UTF-8', `-${mode}`, '-', '-'], { timeout: 30_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error('pdftotext is missing: run `bash scripts/ensure-test-tools.sh`') : error),
    );
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`pdftotext exited ${code}: ${Buffer.concat(err).toString()}`));
      // pdftotext ends every page with a form feed, the last one too.
      else resolve(Buffer.concat(out).toString('utf8').split('\f').slice(0, -1));
    });
    child.stdin.on('error', () => undefined); // an early exit is reported by 'close'
    child.stdin.end(pdf);
  });
}
