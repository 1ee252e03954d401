"""The model index, read from ``model-index.yml`` and the metafiles, and the model zoo table
of ``docs/model_zoo.md`` made from it.

Refresh the table after editing a metafile:

    python tests/test_docs/zoo.py
"""
import glob
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import yaml

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
ZOO = osp.join(ROOT, 'docs', 'model_zoo.md')
BEGIN, END = '<!-- model-zoo-table: begin -->', '<!-- model-zoo-table: end -->'
# A Results entry whose Dataset ends with this is a number measured with mmris; the others
# are the paper's.
OURS = '(mmris)'


def model_configs() -> List[str]:
    """Every experiment config: ``configs/<model>/*.py``, ``_base_`` and ``examples`` aside."""
    found = glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    return sorted(osp.relpath(p, ROOT) for p in found
                  if osp.basename(osp.dirname(p)) not in ('_base_', 'examples'))


def load_index() -> Tuple[List[str], List[dict], Dict[str, dict]]:
    """(metafile paths, model entries, collections by name) of ``model-index.yml``."""
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        metafiles = yaml.safe_load(f)['Import']
    models, collections = [], OrderedDict()
    for path in metafiles:
        with open(osp.join(ROOT, path)) as f:
            meta = yaml.safe_load(f)
        for c in meta.get('Collections', []):
            collections[c['Name']] = c
        models += meta['Models']
    return metafiles, models, collections


def _results(model: dict) -> Tuple[Dict[str, str], Dict[str, str]]:
    """{split: 'metric value, ...'} of the paper and of mmris (every metric of a split)."""
    paper, ours = OrderedDict(), OrderedDict()
    for r in model.get('Results') or []:
        dataset = r['Dataset']
        target = ours if dataset.endswith(OURS) else paper
        split = dataset.replace(OURS, '').strip()
        target[split] = ', '.join(f'{metric} {value:.2f}'
                                  for metric, value in r['Metrics'].items())
    return paper, ours


def render_zoo() -> str:
    """The markdown table of every model of the index, one section per collection."""
    _, models, collections = load_index()
    out = []
    for cname, coll in collections.items():
        rows = [m for m in models if m['In Collection'] == cname]
        paper = coll.get('Paper', {})
        out += [f'### {cname}', '', f"[{paper.get('Title', cname)}]({paper.get('URL', '')})", '',
                '| config | backbone | text encoder | data | paper | mmris |',
                '|---|---|---|---|---|---|']
        for m in rows:
            meta = m.get('Metadata', {})
            ours_paper, ours = _results(m)
            fmt = '<br>'.join(f'{k}: {v}' for k, v in ours_paper.items()) or '-'
            mine = '<br>'.join(f'{k}: {v}' for k, v in ours.items()) or 'not trained yet'
            out.append(f"| [{m['Name']}](../{m['Config']}) | {meta.get('Backbone', '')} | "
                       f"{meta.get('Text Encoder', '')} | {meta.get('Training Data', '')} | "
                       f'{fmt} | {mine} |')
        out.append('')
    return '\n'.join(out).rstrip() + '\n'


def zoo_table_in_docs() -> str:
    with open(ZOO) as f:
        text = f.read()
    match = re.search(re.escape(BEGIN) + r'\n(.*?)' + re.escape(END), text, re.S)
    return match.group(1) if match else ''


def write_zoo() -> None:
    with open(ZOO) as f:
        text = f.read()
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    with open(ZOO, 'w') as f:
        f.write(head + BEGIN + '\n' + render_zoo() + END + tail)


if __name__ == '__main__':
    write_zoo()
    print(f'wrote the table of {ZOO}', file=sys.stderr)
