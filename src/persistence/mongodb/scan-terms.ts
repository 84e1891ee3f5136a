/**
 * The search fields of an instance document: `scanBucket` and `scanTerms`, written on every
 * commit, so that the operators' search reads a few hundred documents per query at any size.
 *
 * Why: FerretDB 1.24 (the test store) pushes down to PostgreSQL only top-level equalities (a
 * scalar, or a scalar inside a top-level array); it sorts, ranges and limits a filtered query in
 * its own memory after reading and decoding every document the equalities matched. A list sorted
 * by `_id` therefore read the whole collection (96 s at 100,000 instances). Here each instance
 * falls in one of 256 buckets (`scanBucket`: two hex digits of a hash of `_id`, fixed for life),
 * and `scanTerms` holds an equality term for each way the console narrows a search, alone and
 * joined with the bucket:
 *
 * | term | matches |
 * | --- | --- |
 * | `\|<b>` | every instance in bucket `b` (two hex digits), or in group `b` (its first digit: 16 buckets) |
 * | `k=<kind>`, `k=<kind>\|<b>` | sagas (`saga`) or workflows (`workflow`) |
 * | `t=<kind>:<type>`, `…\|<b>` | one saga type, or one workflow type |
 * | `s=<status>`, `…\|<b>` | one status (a workflow's own: running, parked, failed…) |
 * | `ts=<kind>:<type>:<status>`, `…\|<b>` | a type in a status |
 * | `id=<value>` | the instance id, and (separately) its correlation value (a workflow's id) |
 *
 * Each term with a bucket also comes with its group (`ts=…|3`: the 16 buckets `30`…`3f`). A search
 * walks the buckets in order with one equality per bucket (`ts=…|00`, `ts=…|01`, …), in the order
 * `(scanBucket, _id)`; when the first buckets show that the term matches few instances, it reads a
 * group of 16 buckets per query, or the rest with the term alone. On MongoDB one compound multikey index,
 * `{ scanTerms: 1, scanBucket: 1, _id: 1 }` (`longhaul_scan`), answers every such query in that
 * order without a sort; on FerretDB its GIN twin answers the equality. See docs/operations.md.
 */
import { createHash } from 'node:crypto';

/** The number of buckets (two hex digits). */
export const SCAN_BUCKETS = 256;

/** The fields a document stores for search. */
export interface ScanFields {
  scanBucket: string;
  scanTerms: string[];
}

/** The stored type of workflow instances (as `WORKFLOW_TYPE` in saga-document.ts). */
const WORKFLOW = 'longhaul.Workflow';

/** The bucket of a document `_id`: two hex digits of its SHA-1. */
export function scanBucketOf(documentId: string): string {
  return createHash('sha1').update(documentId).digest('hex').slice(0, 2);
}

/** The bucket after `bucket`, or undefined after the last. */
export function nextBucket(bucket: string): string | undefined {
  const n = Number.parseInt(bucket, 16) + 1;
  return n >= SCAN_BUCKETS ? undefined : n.toString(16).padStart(2, '0');
}

/** The first bucket. */
export const FIRST_BUCKET = '00';

/** What a term narrows by: kind, type and status as the operators' API names them. */
export interface ScanFacet {
  readonly kind?: 'saga' | 'workflow';
  readonly type?: string;
  readonly status?: string;
}

/** The term of a facet without a bucket (`undefined`: no narrowing, every instance). */
export function facetTerm(facet: ScanFacet): string | undefined {
  const { kind, type, status } = facet;
  if (kind !== undefined && type !== undefined && status !== undefined) return `ts=${kind}:${type}:${status}`;
  if (kind !== undefined && type !== undefined) return `t=${kind}:${type}`;
  if (status !== undefined) return `s=${status}`;
  if (kind !== undefined) return `k=${kind}`;
  return undefined;
}

/** The term of a facet within one bucket. */
export function bucketTerm(term: string | undefined, bucket: string): string {
  return `${term ?? ''}|${bucket}`;
}

/** The term finding an instance by its id or correlation value. */
export function idTerm(value: string): string {
  return `id=${value}`;
}

/**
 * The search fields of an instance: from its stored type, id, correlation value, status and (for
 * a workflow) its `workflowType` and `status` labels.
 */
export function scanFields(doc: {
  readonly _id: string;
  readonly sagaType: string;
  readonly id: string;
  readonly correlationKey: string;
  readonly status: string;
  readonly labels?: Readonly<Record<string, string>> | undefined;
}): ScanFields {
  const bucket = scanBucketOf(doc._id);
  const workflow = doc.sagaType === WORKFLOW;
  const kind: ScanFacet['kind'] = workflow ? 'workflow' : 'saga';
  const type = workflow ? (doc.labels?.workflowType ?? '') : doc.sagaType;
  const status = workflow ? (doc.labels?.status ?? doc.status) : doc.status;
  const terms = [bucketTerm(undefined, bucket.slice(0, 1)), bucketTerm(undefined, bucket)];
  const facets: ScanFacet[] = [{ kind }, { kind, type }, { status }, { kind, type, status }];
  for (const facet of facets) {
    const term = facetTerm(facet) as string;
    terms.push(term, bucketTerm(term, bucket.slice(0, 1)), bucketTerm(term, bucket));
  }
  terms.push(idTerm(doc.id));
  if (doc.correlationKey !== doc.id) terms.push(idTerm(doc.correlationKey));
  return { scanBucket: bucket, scanTerms: terms };
}
