/**
 * Which search term a set of criteria walks (see `scan-terms.ts`), and whether that term (with
 * the one label term pushed beside it) matches exactly the instances the criteria match.
 */
import { type InstanceCriteria } from '../instance-admin.js';
import { facetTerm, idTerm, type ScanFacet } from './scan-terms.js';
import { WORKFLOW_TYPE } from './saga-document.js';

/** The term to walk, and whether nothing else narrows the search. */
export interface ScanPlan {
  /** The facet term (without bucket); undefined: every instance. */
  readonly term: string | undefined;
  /**
   * True when the documents the pushed-down equalities match are exactly the results: then the
   * matches of the first buckets estimate what reading the term alone costs.
   */
  readonly exact: boolean;
  /** Read the term whole from the start (it names one instance). */
  readonly whole?: boolean;
}

/** One alternative in the operators' terms. */
interface Alternative {
  readonly kind?: 'saga' | 'workflow';
  readonly types?: readonly string[];
  readonly statuses?: readonly string[];
  /** No condition beyond kind, one type, one status and at most one label equality. */
  readonly plain: boolean;
}

/** The plan of `anyOf` (already without alternatives that match nothing). */
export function scanPlanOf(anyOf: readonly InstanceCriteria[]): ScanPlan {
  if (anyOf.length === 0) return { term: undefined, exact: true };
  const ids = new Set(anyOf.map((c) => (c.ids?.length === 1 ? c.ids[0] : undefined)));
  const [id] = ids;
  if (ids.size === 1 && id !== undefined) return { term: idTerm(id), exact: false, whole: true };
  const alts = anyOf.map(alternativeOf);
  const single = <T>(values: readonly T[] | undefined): T | undefined =>
    values?.length === 1 ? values[0] : undefined;
  const [only] = alts;
  if (alts.length === 1 && only) {
    const facet: ScanFacet = {
      ...(only.kind ? { kind: only.kind } : {}),
      ...(single(only.types) !== undefined && only.kind ? { type: single(only.types) } : {}),
      ...(single(only.statuses) !== undefined ? { status: single(only.statuses) } : {}),
    };
    const exact =
      only.plain &&
      only.kind !== undefined &&
      (only.types === undefined || facet.type !== undefined) &&
      (only.statuses === undefined || facet.status !== undefined) &&
      // `s=<status>` holds both kinds; only workflows are told apart by a pushed-down `sagaType`.
      !(only.kind === 'saga' && facet.status !== undefined && facet.type === undefined);
    return { term: facetTerm(facet), exact };
  }
  // Several alternatives (sagas and workflows): narrow by a status they all require.
  const statuses = new Set(alts.map((a) => single(a.statuses) ?? '*'));
  const [status] = statuses;
  const common = statuses.size === 1 && status !== '*' ? status : undefined;
  const exact = alts.every(
    (a) => a.plain && a.types === undefined && (a.statuses === undefined || common !== undefined),
  );
  return { term: facetTerm(common !== undefined ? { status: common } : {}), exact };
}

function alternativeOf(c: InstanceCriteria): Alternative {
  const workflow = c.sagaTypes?.length === 1 && c.sagaTypes[0] === WORKFLOW_TYPE;
  const list = (v: string | readonly string[] | undefined): readonly string[] | undefined =>
    v === undefined ? undefined : typeof v === 'string' ? [v] : v;
  const userLabels = Object.entries(c.labels ?? {}).filter(
    ([key]) => !workflow || (key !== 'workflowType' && key !== 'status'),
  );
  const plain =
    c.createdFrom === undefined &&
    c.createdTo === undefined &&
    c.updatedFrom === undefined &&
    c.updatedTo === undefined &&
    c.outboxOlderThan === undefined &&
    c.ids === undefined &&
    userLabels.length <= 1 &&
    userLabels.every(([, v]) => typeof v === 'string');
  if (workflow) {
    const types = list(c.labels?.workflowType);
    const statuses = list(c.labels?.status);
    return { kind: 'workflow', ...(types ? { types } : {}), ...(statuses ? { statuses } : {}), plain };
  }
  const sagas = c.sagaTypes !== undefined && !c.sagaTypes.includes(WORKFLOW_TYPE);
  const excludesWorkflows = c.excludeSagaTypes?.includes(WORKFLOW_TYPE) === true;
  return {
    ...(sagas || excludesWorkflows ? { kind: 'saga' as const } : {}),
    ...(c.sagaTypes ? { types: c.sagaTypes } : {}),
    ...(c.status ? { statuses: [c.status] } : {}),
    // Excluding types other than workflows is not expressed by a term.
    plain:
      plain &&
      (c.sagaTypes !== undefined || excludesWorkflows) &&
      (c.excludeSagaTypes ?? []).every((t) => t === WORKFLOW_TYPE),
  };
}
