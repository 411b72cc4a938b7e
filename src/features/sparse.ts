/**
 * Compressed sparse row matrices on typed arrays — the exchange format between the TF-IDF vectoriser and the
 * baseline models. TF-IDF rows of TOP trials have a few hundred non-zeros out of tens of thousands of
 * columns, so dense storage would waste two orders of magnitude of memory and time.
 *
 * Invariants (checked by `validateCsr`): `indptr` has `rows + 1` non-decreasing entries starting at 0,
 * column indices inside one row are strictly increasing and in `[0, cols)`.
 */

export interface CsrMatrix {
  rows: number;
  cols: number;
  /** Row `i` occupies `indices/data[indptr[i] .. indptr[i+1])`. */
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
}

/** Compressed sparse column form of the same matrix (used by the forest to scan one feature at a time). */
export interface CscMatrix {
  rows: number;
  cols: number;
  /** Column `j` occupies `rowIndices/data[colptr[j] .. colptr[j+1])`, rows strictly increasing. */
  colptr: Int32Array;
  rowIndices: Int32Array;
  data: Float64Array;
}

/** Builds a CSR matrix from per-row maps column -> value (zeros dropped, columns sorted). */
export function csrFromRowMaps(rowMaps: ReadonlyArray<ReadonlyMap<number, number>>, cols: number): CsrMatrix {
  let nnz = 0;
  for (const m of rowMaps) for (const v of m.values()) if (v !== 0) nnz++;
  const indptr = new Int32Array(rowMaps.length + 1);
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  let k = 0;
  rowMaps.forEach((m, i) => {
    const entries = [...m.entries()].filter(([, v]) => v !== 0).sort((a, b) => a[0] - b[0]);
    for (const [c, v] of entries) {
      if (c < 0 || c >= cols) throw new RangeError(`column ${c} outside [0, ${cols})`);
      indices[k] = c;
      data[k] = v;
      k++;
    }
    indptr[i + 1] = k;
  });
  return { rows: rowMaps.length, cols, indptr, indices, data };
}

/** Builds a CSR matrix from a dense row-major array of rows (tests and small problems). */
export function csrFromDense(dense: ReadonlyArray<ArrayLike<number>>, cols?: number): CsrMatrix {
  const nCols = cols ?? (dense.length > 0 ? dense[0].length : 0);
  return csrFromRowMaps(
    dense.map((row) => {
      if (row.length !== nCols) throw new RangeError(`ragged dense input: row of ${row.length}, expected ${nCols}`);
      const m = new Map<number, number>();
      for (let j = 0; j < row.length; j++) if (row[j] !== 0) m.set(j, row[j]);
      return m;
    }),
    nCols,
  );
}

/** Dense copy (row-major arrays); for tests and debugging only. */
export function csrToDense(x: CsrMatrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < x.rows; i++) {
    const row = new Array<number>(x.cols).fill(0);
    for (let k = x.indptr[i]; k < x.indptr[i + 1]; k++) row[x.indices[k]] = x.data[k];
    out.push(row);
  }
  return out;
}

/** The rows `which` of `x`, in that order (repeats allowed). */
export function csrSelectRows(x: CsrMatrix, which: ArrayLike<number>): CsrMatrix {
  let nnz = 0;
  for (let r = 0; r < which.length; r++) {
    const i = which[r];
    if (i < 0 || i >= x.rows) throw new RangeError(`row ${i} outside [0, ${x.rows})`);
    nnz += x.indptr[i + 1] - x.indptr[i];
  }
  const indptr = new Int32Array(which.length + 1);
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  let k = 0;
  for (let r = 0; r < which.length; r++) {
    const i = which[r];
    const start = x.indptr[i];
    const end = x.indptr[i + 1];
    indices.set(x.indices.subarray(start, end), k);
    data.set(x.data.subarray(start, end), k);
    k += end - start;
    indptr[r + 1] = k;
  }
  return { rows: which.length, cols: x.cols, indptr, indices, data };
}

/** CSR -> CSC by counting sort; rows inside each column come out increasing because rows are scanned in order. */
export function csrToCsc(x: CsrMatrix): CscMatrix {
  const nnz = x.indptr[x.rows];
  const colptr = new Int32Array(x.cols + 1);
  for (let k = 0; k < nnz; k++) colptr[x.indices[k] + 1]++;
  for (let j = 0; j < x.cols; j++) colptr[j + 1] += colptr[j];
  const next = colptr.slice(0, x.cols);
  const rowIndices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  for (let i = 0; i < x.rows; i++) {
    for (let k = x.indptr[i]; k < x.indptr[i + 1]; k++) {
      const p = next[x.indices[k]]++;
      rowIndices[p] = i;
      data[p] = x.data[k];
    }
  }
  return { rows: x.rows, cols: x.cols, colptr, rowIndices, data };
}

/** y = X w (+ b). */
export function csrMatVec(x: CsrMatrix, w: ArrayLike<number>, out = new Float64Array(x.rows), bias = 0): Float64Array {
  for (let i = 0; i < x.rows; i++) {
    let s = bias;
    for (let k = x.indptr[i]; k < x.indptr[i + 1]; k++) s += x.data[k] * w[x.indices[k]];
    out[i] = s;
  }
  return out;
}

/** g = X^T v, accumulated into `out` (which is zeroed first). */
export function csrTransposeMatVec(x: CsrMatrix, v: ArrayLike<number>, out = new Float64Array(x.cols)): Float64Array {
  out.fill(0);
  for (let i = 0; i < x.rows; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    for (let k = x.indptr[i]; k < x.indptr[i + 1]; k++) out[x.indices[k]] += x.data[k] * vi;
  }
  return out;
}

/** Throws when `x` breaks the CSR invariants; cheap enough to run on every model input. */
export function validateCsr(x: CsrMatrix): void {
  if (x.indptr.length !== x.rows + 1) throw new RangeError(`indptr has ${x.indptr.length} entries, expected ${x.rows + 1}`);
  if (x.indptr[0] !== 0) throw new RangeError('indptr[0] must be 0');
  const nnz = x.indptr[x.rows];
  if (x.indices.length < nnz || x.data.length < nnz) throw new RangeError('indices/data shorter than indptr says');
  for (let i = 0; i < x.rows; i++) {
    if (x.indptr[i + 1] < x.indptr[i]) throw new RangeError(`indptr decreases at row ${i}`);
    let prev = -1;
    for (let k = x.indptr[i]; k < x.indptr[i + 1]; k++) {
      const c = x.indices[k];
      if (c <= prev || c >= x.cols) throw new RangeError(`row ${i}: column ${c} out of order or outside [0, ${x.cols})`);
      if (!Number.isFinite(x.data[k])) throw new RangeError(`row ${i}: non-finite value at column ${c}`);
      prev = c;
    }
  }
}
