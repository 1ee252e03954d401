"""A small, deterministic referring dataset in exactly the REFER layout.

Scenes of 3-4 flat shapes (circle, square, triangle) x (red, green, blue, yellow) x (big,
small) on a plain gradient background. Every object of a scene has a distinct
(shape, colour, size) triple, and every sentence is checked to pick out its target alone among
the objects of its image, so the words are needed: a model that ignores them can do no better
than a fixed guess per image (see the report's ``blind`` figures).

Splits (whole images, never shared): ``train`` and ``val`` use every kind of expression,
``testA`` only attribute expressions ("the small red circle", "the green one"), ``testB`` only
spatial ones ("the leftmost triangle", "the blue shape on the right").

Layout written::

    <out_dir>/toyref/instances.json   COCO format, polygon segmentations
    <out_dir>/toyref/refs(unc).p      REFER refs, splits train / val / testA / testB
    <out_dir>/toyref/report.json      sizes and sentence-blind baselines
    <out_dir>/images/toy_XXXXXX.png
    <out_dir>/bert-tiny/              config.json + vocab.txt of a tiny random BERT over the
                                      closed vocabulary (``write_toy_bert``), for MagNet
    <out_dir>/spm-tiny.model          a sentencepiece word model of the closed vocabulary
                                      (``write_toy_spm``), EVF-SAM's XLM-R tokenizer
"""
import itertools
import json
import os
import os.path as osp
import pickle
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image, ImageDraw

__all__ = [
    'generate_toy_refer', 'toy_vocabulary', 'write_toy_bert', 'TOY_SHAPES', 'TOY_COLOURS',
    'TOY_SIZES', 'TOY_BERT_DIR', 'TOY_BERT_SPECIALS',
    'write_toy_spm', 'TOY_SPM_FILE',
]

TOY_SHAPES = ('circle', 'square', 'triangle')
TOY_COLOURS = {'red': (215, 45, 40), 'green': (45, 165, 60), 'blue': (45, 80, 215),
               'yellow': (230, 205, 40)}
TOY_SIZES = {'small': (18, 26), 'big': (32, 42)}  # extent range in pixels
_ATTRS = ('size', 'colour', 'shape')
_SUBSETS = [s for k in range(4) for s in itertools.combinations(_ATTRS, k)]
_MIN_GAP = 10  # pixels between the centres that a spatial word compares
_SPLIT_KINDS = {'train': 'any', 'val': 'any', 'testA': 'attribute', 'testB': 'spatial'}
# The sentences: every word comes from these templates and constants (see toy_vocabulary).
# {phrase}: [size] [colour] shape, or a noun for an unnamed shape ('one' only after an
# adjective); {word}: a spatial word of the axis.
_NOUNS = ('one', 'object', 'shape')
_ATTRIBUTE = 'the {phrase}'
# (axis of the object centres, (low, high) words, superlative template (None: none),
# template when the phrase fits two objects)
_SPATIAL = (('cx', ('left', 'right'), 'the {word}most {phrase}', 'the {phrase} on the {word}'),
            ('cy', ('top', 'bottom'), None, 'the {phrase} at the {word}'))
TOY_BERT_DIR = 'bert-tiny'  # under the data root
TOY_BERT_SPECIALS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')  # ids 0..4
TOY_SPM_FILE = 'spm-tiny.model'  # under the data root


def _polygon(shape: str, cx: float, cy: float, s: float) -> List[float]:
    if shape == 'circle':
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        pts = np.stack([cx + s / 2 * np.cos(angles), cy + s / 2 * np.sin(angles)], 1)
    elif shape == 'square':
        h = s / 2
        pts = np.array([[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h]])
    else:  # triangle, apex up
        h = s / 2
        pts = np.array([[cx, cy - h], [cx + h, cy + h], [cx - h, cy + h]])
    return [round(float(v), 2) for v in pts.ravel()]


def _place_objects(rng: np.random.Generator, w: int, h: int) -> Optional[List[dict]]:
    """3-4 objects with distinct (shape, colour, size) at non-overlapping positions."""
    n = int(rng.integers(3, 5))
    triples = list(itertools.product(TOY_SHAPES, TOY_COLOURS, TOY_SIZES))
    chosen = rng.choice(len(triples), size=n, replace=False)
    objects = []
    for i in chosen:
        shape, colour, size = triples[i]
        s = float(rng.uniform(*TOY_SIZES[size]))
        for _ in range(100):
            cx, cy = rng.uniform(s / 2 + 2, w - s / 2 - 2), rng.uniform(s / 2 + 2, h - s / 2 - 2)
            if all(abs(cx - o['cx']) > (s + o['s']) / 2 + 4
                   or abs(cy - o['cy']) > (s + o['s']) / 2 + 4 for o in objects):
                break
        else:
            return None
        objects.append(dict(shape=shape, colour=colour, size=size, s=s, cx=cx, cy=cy))
    return objects


def _phrase(rng: np.random.Generator, obj: dict, subset: Sequence[str]) -> str:
    words = [obj[a] for a in ('size', 'colour') if a in subset]
    if 'shape' in subset:
        words.append(obj['shape'])
    else:
        words.append(str(rng.choice(list(_NOUNS) if words else list(_NOUNS[1:]))))
    return ' '.join(words)


def _expressions(rng: np.random.Generator, objects: List[dict], t: int) -> Dict[str, list]:
    """Attribute and spatial expressions that pick out ``objects[t]`` alone."""
    target = objects[t]
    found = {'attribute': [], 'spatial': []}
    for subset in _SUBSETS:
        group = [o for o in objects if all(o[a] == target[a] for a in subset)]
        if len(group) == 1:
            if subset:
                found['attribute'].append(_ATTRIBUTE.format(phrase=_phrase(rng, target, subset)))
            continue
        phrase = _phrase(rng, target, subset)
        others = [o for o in group if o is not target]
        for axis, (low, high), superlative, between_two in _SPATIAL:
            gaps = [o[axis] - target[axis] for o in others]
            for sign, word in ((1, low), (-1, high)):
                if min(sign * g for g in gaps) < _MIN_GAP:
                    continue
                if superlative:
                    found['spatial'].append(superlative.format(word=word, phrase=phrase))
                if len(group) == 2:
                    found['spatial'].append(between_two.format(word=word, phrase=phrase))
    return found


def _draw(rng: np.random.Generator, w: int, h: int, objects: List[dict]) -> np.ndarray:
    base = rng.uniform(95, 165) + rng.uniform(-12, 12, size=3)
    gx, gy = rng.uniform(-20, 20, size=2)
    yy, xx = np.mgrid[0:h, 0:w]
    bg = base[None, None] + (gx * xx / w + gy * yy / h)[..., None]
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for obj in objects:
        colour = np.clip(np.array(TOY_COLOURS[obj['colour']]) + rng.integers(-15, 16, 3), 0, 255)
        pts = obj['polygon']
        draw.polygon(list(zip(pts[0::2], pts[1::2])), fill=tuple(int(c) for c in colour))
    return np.asarray(img)


def _scene(rng: np.random.Generator, kind: str,
           refs_per_image: int) -> Tuple[int, int, List[dict], List[Tuple[int, List[str]]]]:
    """One image: size, objects, and (target index, sentences) for its refs."""
    while True:
        w, h = int(rng.integers(112, 145)), int(rng.integers(84, 109))
        if rng.random() < 0.2:  # some portrait images: the letterbox pads both ways
            w, h = h, w
        objects = _place_objects(rng, w, h)
        if objects is None:
            continue
        candidates = []
        for t in range(len(objects)):
            exprs = _expressions(rng, objects, t)
            pool = exprs[kind] if kind != 'any' else exprs['attribute'] + exprs['spatial']
            if pool:
                candidates.append((t, sorted(set(pool))))
        if len(candidates) >= refs_per_image:
            break
    for obj in objects:
        obj['polygon'] = _polygon(obj['shape'], obj['cx'], obj['cy'], obj['s'])
    picked = rng.choice(len(candidates), size=refs_per_image, replace=False)
    refs = []
    for i in sorted(picked):
        t, pool = candidates[i]
        k = int(rng.integers(1, min(3, len(pool)) + 1))
        refs.append((t, [pool[j] for j in rng.choice(len(pool), size=k, replace=False)]))
    return w, h, objects, refs


def _blind_baselines(areas: List[Tuple[np.ndarray, int]]) -> Dict[str, float]:
    """oIoU / mIoU (percent) of sentence-blind guesses, one fixed mask per image: the union of
    all its objects, and its k largest objects (k = 1..4; the best k is reported).
    ``areas`` holds (areas of the image's objects, target index) per sentence."""
    def scores(chosen):  # chosen(obj_areas) -> indices predicted
        inter, union = [], []
        for obj_areas, t in areas:
            pred = set(chosen(obj_areas))
            hit = obj_areas[t] if t in pred else 0.0
            inter.append(hit)
            union.append(sum(obj_areas[i] for i in pred) + obj_areas[t] - hit)
        inter, union = np.array(inter), np.array(union)
        return 100 * inter.sum() / union.sum(), 100 * np.mean(inter / union)

    union_o, union_m = scores(lambda a: range(len(a)))
    ranked = [(scores(lambda a, k=k: np.argsort(-a)[:k]), k) for k in range(1, 5)]
    (best_o, best_m), best_k = max(ranked, key=lambda r: r[0][0])
    return dict(union_oIoU=round(float(union_o), 2), union_mIoU=round(float(union_m), 2),
                largest_k_oIoU=round(float(best_o), 2), largest_k_mIoU=round(float(best_m), 2),
                largest_k=best_k)


def toy_vocabulary() -> List[str]:
    """Every word a toy sentence can hold, sorted: the sentence templates filled with every
    size, colour, shape, noun and spatial word (a horizontal flip only swaps left / right).

    Returns:
        list[str]: The words, lower case.
    """
    phrase = ' '.join([*TOY_SIZES, *TOY_COLOURS, *TOY_SHAPES, *_NOUNS])
    words = set(_ATTRIBUTE.format(phrase=phrase).split())
    for _, pair, *templates in _SPATIAL:
        for template in filter(None, templates):
            for word in pair:
                words.update(template.format(phrase=phrase, word=word).split())
    return sorted(words)


def write_toy_bert(out_dir: str,
                   hidden_size: int = 64,
                   num_layers: int = 4,
                   num_heads: int = 4,
                   intermediate_size: int = 256,
                   max_position_embeddings: int = 32) -> str:
    """Write a tiny BERT directory over the toy vocabulary: ``config.json`` (a Hugging Face
    ``BertConfig``) and ``vocab.txt`` (:data:`TOY_BERT_SPECIALS` first, [PAD] = 0, then
    :func:`toy_vocabulary`), no weights: ``BERTTextEncoder(load_weights=False)`` builds it
    with a random init (configs/_base_/models/magnet_toy.py). Needs no ``transformers``.

    Args:
        out_dir (str): The directory (e.g. ``data/toy/bert-tiny``); made if absent,
            its two files overwritten.
        hidden_size (int): Width of the words. Defaults to 64.
        num_layers (int): Transformer layers. Defaults to 4.
        num_heads (int): Attention heads. Defaults to 4.
        intermediate_size (int): FFN width. Defaults to 256.
        max_position_embeddings (int): Longest token sequence ([CLS] and [SEP] included).
            Defaults to 32.

    Returns:
        str: ``out_dir``.
    """
    vocab = [*TOY_BERT_SPECIALS, *toy_vocabulary()]
    config = dict(
        architectures=['BertModel'],
        model_type='bert',
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        hidden_act='gelu',
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=max_position_embeddings,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        pad_token_id=vocab.index('[PAD]'),
        position_embedding_type='absolute')
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'vocab.txt'), 'w') as f:
        f.write('\n'.join(vocab) + '\n')
    with open(osp.join(out_dir, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2, sort_keys=True)
    return out_dir


def write_toy_spm(path: str) -> str:
    """Train a sentencepiece word model over :func:`toy_vocabulary` (ids: <unk> 0, <s> 1,
    </s> 2, then one piece per word), the form ``XLMRobertaTokenizer(vocab_file=path)``
    reads (EVF-SAM's toy config). Needs ``sentencepiece``; deterministic.

    Args:
        path (str): The model file (e.g. ``data/toy/spm-tiny.model``), overwritten.

    Returns:
        str: ``path``.
    """
    import io

    import sentencepiece as spm
    words = toy_vocabulary()
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(words), model_writer=model, model_type='word',
        vocab_size=len(words) + 3, hard_vocab_limit=False, character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(model.getvalue())
    return path


def generate_toy_refer(out_dir: str,
                       seed: int = 0,
                       num_images: Optional[Dict[str, int]] = None,
                       refs_per_image: int = 2) -> dict:
    """Write the toy referring dataset (deterministic for a seed), and the tiny BERT of
    :func:`write_toy_bert` to ``<out_dir>/bert-tiny`` and, when ``sentencepiece`` is
    installed, the tokenizer of :func:`write_toy_spm` to ``<out_dir>/spm-tiny.model``
    (otherwise a warning says how to write it).

    Args:
        out_dir (str): Output root (e.g. ``data/toy``).
        seed (int): Random seed. Defaults to 0.
        num_images (dict, optional): Images per split. Defaults to
            ``dict(train=2000, val=150, testA=100, testB=100)``.
        refs_per_image (int): Refs (distinct target objects) per image. Defaults to 2.

    Returns:
        dict: The report also written to ``toyref/report.json``: images, refs and sentences
        per split, and the sentence-blind baselines per split (``blind``).
    """
    num_images = num_images or dict(train=2000, val=150, testA=100, testB=100)
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out_dir, 'images'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'toyref'), exist_ok=True)
    categories = [dict(id=i + 1, name=s, supercategory='shape') for i, s in enumerate(TOY_SHAPES)]
    images, annotations, refs = [], [], []
    report = dict(seed=seed, splits={}, blind={})
    next_sent_id = 1
    for split, count in num_images.items():
        blind = []
        n_refs = n_sents = 0
        for _ in range(count):
            w, h, objects, scene_refs = _scene(rng, _SPLIT_KINDS.get(split, 'any'),
                                               refs_per_image)
            image_id = len(images) + 1
            file_name = f'toy_{image_id:06d}.png'
            Image.fromarray(_draw(rng, w, h, objects)).save(
                osp.join(out_dir, 'images', file_name))
            images.append(dict(id=image_id, file_name=file_name, width=w, height=h))
            first_ann = len(annotations) + 1
            obj_areas = []
            for obj in objects:
                rle = mask_utils.frPyObjects([obj['polygon']], h, w)[0]
                area = int(mask_utils.area(rle))
                obj_areas.append(area)
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_id,
                    category_id=TOY_SHAPES.index(obj['shape']) + 1,
                    segmentation=[obj['polygon']], area=area, iscrowd=0,
                    bbox=[round(float(v), 2) for v in mask_utils.toBbox(rle)]))
            for t, texts in scene_refs:
                ref_id = len(refs) + 1
                sentences = [dict(sent_id=next_sent_id + k, raw=text, sent=text,
                                  tokens=text.split()) for k, text in enumerate(texts)]
                next_sent_id += len(texts)
                refs.append(dict(
                    ref_id=ref_id, ann_id=first_ann + t, image_id=image_id, split=split,
                    category_id=TOY_SHAPES.index(objects[t]['shape']) + 1,
                    sentences=sentences, sent_ids=[s['sent_id'] for s in sentences],
                    file_name=file_name))
                blind.extend([(np.array(obj_areas, dtype=np.float64), t)] * len(texts))
                n_refs += 1
                n_sents += len(texts)
        report['splits'][split] = dict(images=count, refs=n_refs, sentences=n_sents)
        report['blind'][split] = _blind_baselines(blind)
    with open(osp.join(out_dir, 'toyref', 'instances.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    with open(osp.join(out_dir, 'toyref', 'refs(unc).p'), 'wb') as f:
        pickle.dump(refs, f, protocol=2)
    with open(osp.join(out_dir, 'toyref', 'report.json'), 'w') as f:
        json.dump(report, f, indent=2)
    write_toy_bert(osp.join(out_dir, TOY_BERT_DIR))
    try:
        write_toy_spm(osp.join(out_dir, TOY_SPM_FILE))
    except ImportError:
        warnings.warn(f'sentencepiece is not installed: {TOY_SPM_FILE} (the EVF-SAM toy '
                      'tokenizer) not written; pip install sentencepiece and run '
                      'mmris.datasets.toy.write_toy_spm')
    return report
