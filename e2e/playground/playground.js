// The playground page: manifests and settings in, each object's verdict and each image's status out.
//
// The rule itself is not here: `checkObject` is policy/src/js.rs compiled by scripts/build-js.sh, which calls the
// same functions as policy.wasm. This file only does what `host-harness check` does around the policy: split the
// text into YAML documents, unwrap `*List`s, and show the answers.

import init, { checkObject } from './pkg/require_digest.js';
import { LineCounter, parse, parseAllDocuments, isMap, isSeq, isScalar, isPair } from 'yaml';

/** Lists inside Lists are unwrapped this deep, as host-harness does. */
const MAX_LIST_NESTING = 8;
/** Aliases a document may expand (YAML "billion laughs" guard). */
const MAX_ALIAS_COUNT = 100;
/** Typing pauses this long (ms) before the page checks again. */
const TYPING_PAUSE_MS = 250;

const EXAMPLE_MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:2.4@sha256:2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806
      containers:
        - name: app
          image: nginx:1.27
        - name: sidecar
          image: envoyproxy/envoy@sha256:27dd8ed44a83ff94d557f9fd0412ed5a8cbca69ea04922d88c01184a07300a5a
`;

const DEFAULT_SETTINGS = `exemptImages: []
allowedAlgorithms: [sha256, sha512]
requireTag: false
allowExistingViolations: false
resolveTags: false
`;

const DEFAULT_DIGESTS = `# nginx:1.27: sha256:<64 hex digits>
`;

const STATUS_LABELS = {
  pinned: 'pinned',
  resolved: 'pinned by resolveTags',
  exempt: 'exempt',
  tolerated: 'tolerated',
  violation: 'not accepted',
};

const $ = (id) => document.getElementById(id);

/** `el('td', {class: 'x'}, 'text', child)`: an element with attributes and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** 1-based line of the first scalar in `node` (the line host-harness reports for an object), or of the node. */
function firstLine(node, lineCounter) {
  let current = node;
  while (current) {
    if (isScalar(current)) break;
    if (isPair(current)) current = current.key;
    else if ((isMap(current) || isSeq(current)) && current.items.length > 0) current = current.items[0];
    else break;
  }
  const offset = (current && current.range ? current.range : node.range)[0];
  return lineCounter.linePos(offset).line;
}

/**
 * The Kubernetes objects in a text of YAML (or JSON) documents, as host-harness check reads them: empty documents
 * are left out, `kind: *List` with `items` is unwrapped into its items. Returns `{error}` when the text is not valid
 * YAML as a whole (check reports such a file as one error and judges none of its documents).
 */
export function objectsOf(text) {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  const objects = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      const error = document.errors[0];
      const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: ` : '';
      return { error: `${where}${error.message.split('\n')[0]}` };
    }
    if (document.contents === null) continue;
    let value;
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      return { error: `line ${firstLine(document.contents, lineCounter)}: ${error.message}` };
    }
    collectObjects(value, document.contents, 0, lineCounter, objects);
  }
  return { objects };
}

function collectObjects(value, node, nesting, lineCounter, out) {
  const line = firstLine(node, lineCounter);
  const isList = value !== null && typeof value === 'object' && !Array.isArray(value)
    && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
  if (!isList) {
    out.push({ value, line });
    return;
  }
  if (nesting >= MAX_LIST_NESTING) {
    out.push({ value: null, line, skipReason: `Lists nested more than ${MAX_LIST_NESTING} deep` });
    return;
  }
  const itemsNode = isMap(node) ? node.get('items', true) : null;
  value.items.forEach((item, index) => {
    const itemNode = isSeq(itemsNode) ? itemsNode.items[index] : node;
    collectObjects(item, itemNode, nesting + 1, lineCounter, out);
  });
}

/** Settings or digests text (YAML or JSON) to a value; empty text is `null`. */
function parseEditor(text, what) {
  try {
    return parse(text, { maxAliasCount: MAX_ALIAS_COUNT }) ?? null;
  } catch (error) {
    throw new Error(`${what}: ${error.message.split('\n')[0]}`);
  }
}

/** The whole check of the page's inputs: `{problem}` or `{reports}` with one report per object. */
export function checkText(manifestText, settingsText, digestsText) {
  let settings;
  let digests;
  try {
    settings = parseEditor(settingsText, 'Settings are not valid YAML or JSON');
    digests = parseEditor(digestsText, 'Known digests are not valid YAML or JSON');
  } catch (error) {
    return { problem: error.message };
  }
  const parsed = objectsOf(manifestText);
  if (parsed.error) return { problem: `The manifests are not valid YAML or JSON: ${parsed.error}` };
  const reports = [];
  for (const object of parsed.objects) {
    if (object.skipReason) {
      reports.push({ line: object.line, report: { verdict: 'skipped', reason: object.skipReason } });
      continue;
    }
    try {
      reports.push({ line: object.line, value: object.value, report: checkObject(object.value, settings, digests) });
    } catch (error) {
      // Invalid settings (or digests): host-harness check refuses to run at all, and so does the page.
      return { problem: error.message };
    }
  }
  return { reports };
}

function describe(value) {
  const metadata = (value && typeof value.metadata === 'object' && value.metadata) || {};
  return {
    kind: typeof value?.kind === 'string' ? value.kind : '',
    name: typeof metadata.name === 'string' ? metadata.name : '',
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : '',
  };
}

function renderImage(image) {
  const pin = image.pinnedForm
    ? [el('code', { class: 'pinned' }, image.pinnedForm),
      image.digestCommand ? el('span', { class: 'command' }, 'digest: ', el('code', {}, image.digestCommand)) : null]
    : image.status === 'pinned' ? '—'
      : image.image ? 'fix the reference first' : 'name an image, pinned by digest';
  return el('tr', { class: 'image', 'data-status': image.status },
    el('td', { class: 'site' }, image.site),
    el('td', { class: 'image' }, el('code', {}, image.image ?? '(none)')),
    el('td', { class: 'status' }, el('span', { class: `badge ${image.status}` }, STATUS_LABELS[image.status] ?? image.status)),
    el('td', { class: 'reason' }, image.reason ?? ''),
    el('td', { class: 'pin' }, pin));
}

function renderObject({ line, value, report }) {
  const { kind, name, namespace } = describe(value);
  const title = kind ? `${kind} ${namespace ? `${namespace}/` : ''}${name}`.trim() : 'document';
  const article = el('article', {
    class: 'object',
    'data-verdict': report.verdict,
    'data-kind': kind,
    'data-name': name,
    'data-namespace': namespace,
    'data-line': line,
  }, el('h2', {}, title, el('span', { class: `badge ${report.verdict}` }, report.verdict), el('span', { class: 'line' }, `line ${line}`)));
  if (report.verdict === 'skipped') {
    article.append(el('p', { class: 'reason-text' }, report.reason));
    return article;
  }
  if (report.message) article.append(el('pre', { class: 'message' }, report.message));
  if (report.warnings?.length) article.append(el('ul', { class: 'warnings' }, report.warnings.map((warning) => el('li', {}, warning))));
  if (report.images?.length) {
    article.append(el('table', { class: 'images' },
      el('thead', {}, el('tr', {}, ['where', 'image', 'status', 'reason', 'pinned form to use'].map((h) => el('th', {}, h)))),
      el('tbody', {}, report.images.map(renderImage))));
  } else if (report.verdict === 'accepted') {
    article.append(el('p', { class: 'reason-text' }, 'No images to check in this kind of object.'));
  }
  return article;
}

function summaryLine(reports) {
  const count = (verdict) => reports.filter(({ report }) => report.verdict === verdict).length;
  return `checked ${reports.length} objects: ${count('accepted')} accepted, ${count('rejected')} rejected, ${count('skipped')} skipped`;
}

let runs = 0;
let pendingCheck = null;

function runCheck() {
  clearTimeout(pendingCheck);
  pendingCheck = null;
  const outcome = checkText($('manifest').value, $('settings').value, $('digests').value);
  const problem = $('problem');
  const results = $('results');
  results.replaceChildren();
  if (outcome.problem) {
    problem.textContent = outcome.problem;
    problem.hidden = false;
    $('summary').textContent = '';
  } else {
    problem.hidden = true;
    problem.textContent = '';
    $('summary').textContent = summaryLine(outcome.reports);
    results.append(...outcome.reports.map(renderObject));
  }
  runs += 1;
  document.body.dataset.runs = String(runs);
}

function scheduleCheck() {
  clearTimeout(pendingCheck);
  pendingCheck = setTimeout(runCheck, TYPING_PAUSE_MS);
}

async function main() {
  $('manifest').value = EXAMPLE_MANIFEST;
  $('settings').value = DEFAULT_SETTINGS;
  $('digests').value = DEFAULT_DIGESTS;
  try {
    await init();
  } catch (error) {
    $('status').textContent = '';
    $('problem').textContent = `The policy module did not load (build it with scripts/build-js.sh): ${error.message}`;
    $('problem').hidden = false;
    document.body.dataset.state = 'failed';
    return;
  }
  for (const id of ['manifest', 'settings', 'digests']) $(id).addEventListener('input', scheduleCheck);
  $('check').addEventListener('click', runCheck);
  $('check').disabled = false;
  $('status').textContent = 'The policy runs in this page.';
  runCheck();
  document.body.dataset.state = 'ready';
}

main();
