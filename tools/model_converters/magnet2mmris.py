"""Convert a released MagNet checkpoint (yxchng/mask-grounding) to mmris.

    python tools/model_converters/magnet2mmris.py --src magnet_refcoco.pth --dst magnet_mmris.pth

The released file holds ``model``: the state dict of ``test.py``'s ``WrapperModel``, i.e.
``image_model.*`` (``MultiModalSwin``: Swin-B whose ``layers.i`` also carry the stage's
image-side fusion), ``language_model.*`` (``MultiModalBert``: BERT plus the text-side
``pwams`` / ``res_gates`` / ``norms`` of each stage), ``classifier.*`` (``MaskFormerHead``:
MSDeformAttn pixel decoder + 1-query Mask2Former decoder) and ``lang_proj``. The result is for
``configs/_base_/models/magnet_swin-b.py``, which computes the official inference graph
except for the text-side attention: add ``model.backbone.fusion.bert_mask_queries=True`` for
the official one (see ``configs/magnet/README.md``).

Mapping (official -> mmris; stage ``i`` 0..3, pooled grid ``j`` 0..3, layer ``n``; 1x1
Conv1d / Conv2d weights become Linear weights where mmris has a Linear):

- ``image_model.*`` Swin keys (``patch_embed``, ``layers.i.blocks``, ``layers.i.downsample``)
  -> ``backbone.*`` by :func:`convert_official_swin` (``stages.i``, ``attn.w_msa``, ``ffn``,
  patch merging re-ordered for nn.Unfold);
- ``image_model.layers.i.fusion.*`` -> ``backbone.fusions.i.pwam.*`` (:data:`IMAGE_PWAM_KEYS`:
  the PWAM names of :data:`mmris.models.layers.pixel_word_attention.PWAM_KEYS`, ``vis_project.0``,
  ``image_lang_att.f_{query,key,value}.0`` -> ``attn.{query,key,value}``,
  ``image_lang_att.W.0`` -> ``attn.out``, ``project_mm.0``, and the LayerNorms
  ``image_lang_att.f_query.1`` / ``.W.1`` -> ``attn.query_norm`` / ``attn.out_norm``, for
  ``CrossModalAlignment(pwam_norm='layer')``);
- ``image_model.layers.i.fusions.j.*`` -> ``backbone.fusions.i.pool_fusions.j.*`` (likewise);
- ``image_model.layers.i.res_gate.{0,2}`` -> ``backbone.fusions.i.gate.layers.{0,2}``;
- ``image_model.layers.i.pyramids.j.{1,2,3,5}`` (conv, LayerNorm, conv, conv; 0 is the
  pooling, 4 the GELU) -> ``backbone.fusions.i.pyramids.j.{0,1,2,4}``;
- ``image_model.layers.i.mixer.*`` -> ``backbone.fusions.i.mixer.*``;
- ``language_model.{embeddings,encoder}.*`` -> ``text_encoder.bert.*``;
- ``language_model.pwams.i.{vis_project.0, image_lang_att.f_query.0, .f_key.0, .f_value.0,
  .W.0, project_mm.0}`` -> ``backbone.fusions.i.{word_vis.0, word_attn.query, .key, .value,
  .out, word_mm.0}``; ``language_model.res_gates.i`` -> ``backbone.fusions.i.word_gate.layers``;
- ``classifier.pixel_decoder.input_proj.k`` -> ``decode_head.pixel_decoder.input_proj.{3-k}``,
  ``.transformer.level_embed`` -> ``.level_embed``, ``.transformer.encoder.layers.n.{self_attn,
  norm1, linear1, linear2, norm2}`` -> ``.layers.n.{attn, norm1, ffn.0, ffn.3, norm2}``,
  ``.mask_features`` -> ``.mask_features``;
- ``classifier.predictor.transformer_{cross_attention,self_attention,ffn}_layers.n`` ->
  ``decode_head.query_decoder.layers.n`` (``multihead_attn`` -> ``cross_attn``, ``self_attn``,
  ``linear1/2`` -> ``ffn.0/3``; their ``norm`` -> ``norms.0 / 1 / 2``), ``decoder_norm`` ->
  ``query_decoder.norm``, ``query_feat`` / ``query_embed`` / ``level_embed`` ->
  ``query_decoder.query_feat / query_pos / level_embed``, ``mask_embed.layers.{0,1,2}`` ->
  ``query_decoder.mask_embed.{0,2,4}``, ``class_embed`` -> ``decode_head.class_embed`` (rows
  as released).

The official pixel decoder orders its levels coarse to fine (stride 32 first), mmris fine to
coarse: ``input_proj`` and ``level_embed`` are reversed, and so is the level axis of each
``sampling_offsets`` / ``attention_weights`` (heads, levels, points[, 2]) row block.

Not loaded, and reported (printed, returned, saved in ``meta``):

- ``training_only``: ``lang_proj.*`` and ``language_model.norms.*`` (outside the inference
  graph of ``WrapperModel.forward``) and BERT's ``pooler`` if present;
- ``unused``: the Swin output norms ``image_model.norm{i}.*``, which the official graph never
  applies (``MultiModalSwin.forward_pwam*`` hand the decoder the CAM mixer outputs as they
  are); the mmris config has ``backbone.out_norms=False``, whose ``norm{i}`` are
  parameter-free identities.

The mmris parts that a released checkpoint cannot fill (:data:`MMRIS_TRAINING_ONLY`: the
sentence projection and learned bias of the alignment loss, the Mask Grounding auxiliary
head) keep their initial values; everything else loads with ``strict=True``.

The file is read with ``torch.load(weights_only=True)``. MagNet's training code is not released;
it builds on LAVT's ``train.py``, which also saves ``optimizer``, ``epoch``, ``lr_scheduler``
(plain state dicts) and ``args`` (an ``argparse.Namespace``): ``argparse.Namespace`` is allowed,
nothing else beyond tensors and plain containers. A file lacking a part (image model, language
model, pixel decoder or predictor) is an error naming the expected keys; top-level keys other
than ``model`` are listed as not converted.
"""
import argparse
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from mmris.models.backbones.swin_fusion import convert_official_swin
from mmris.models.layers.pixel_word_attention import PWAM_KEYS
from mmris.models.text_encoders.bert import convert_bert
from mmris.utils.checkpoint import (CheckpointReadError, ConverterInputError,
                                    UnsafeCheckpointError, load_checkpoint_file, require_parts)

# the classes a released file may need besides tensors and plain containers (LAVT's layout)
SAFE_GLOBALS = [argparse.Namespace]
# checked on the file's keys before converting (description -> key prefix in "model")
EXPECTED = {'model["image_model.*"] (Swin + fusion)': 'image_model.patch_embed.',
            'model["language_model.*"] (BERT)': 'language_model.embeddings.',
            'model["classifier.pixel_decoder.*"]': 'classifier.pixel_decoder.',
            'model["classifier.predictor.*"]': 'classifier.predictor.'}

PARTS = ('image_model', 'language_model', 'classifier', 'lang_proj')
# official keys outside the inference graph (BERT's pooler: unused, LAVT drops it as well)
TRAINING_ONLY = ('lang_proj.', 'language_model.norms.', 'language_model.pooler.')
# official Swin output norms, never applied by the official graph (SwinFusion out_norms=False)
UNUSED = re.compile(r'norm\d+\.')
# image-side PWAM (lib/backbone.py): LAVT's names plus the LayerNorms after the query and
# output projections (PixelWordAttention(norm='layer'))
IMAGE_PWAM_KEYS = {**PWAM_KEYS, 'image_lang_att.f_query.1.': 'attn.query_norm.',
                   'image_lang_att.W.1.': 'attn.out_norm.'}
# mmris parameters that only serve training: not in a released checkpoint
MMRIS_TRAINING_ONLY = ('decode_head.sentence_proj.', 'decode_head.cal.', 'auxiliary_head.')
PYRAMID = {'1': '0', '2': '1', '3': '2', '5': '4'}  # AdaptiveAvgPool2d (0), GELU (4): no weights
# language_model.pwams.i.<official> -> backbone.fusions.i.<mmris> (text side of the CAM)
WORD_PWAM_KEYS = {
    'vis_project.0.': 'word_vis.0.',
    'image_lang_att.f_query.0.': 'word_attn.query.',
    'image_lang_att.f_key.0.': 'word_attn.key.',
    'image_lang_att.f_value.0.': 'word_attn.value.',
    'image_lang_att.W.0.': 'word_attn.out.',
    'project_mm.0.': 'word_mm.0.',
}
ENCODER_LAYER = {'self_attn.': 'attn.', 'norm1.': 'norm1.', 'linear1.': 'ffn.0.',
                 'linear2.': 'ffn.3.', 'norm2.': 'norm2.'}
QUERY_LAYERS = {
    'transformer_cross_attention_layers': {'multihead_attn.': 'cross_attn.', 'norm.': 'norms.0.'},
    'transformer_self_attention_layers': {'self_attn.': 'self_attn.', 'norm.': 'norms.1.'},
    'transformer_ffn_layers': {'linear1.': 'ffn.0.', 'linear2.': 'ffn.3.', 'norm.': 'norms.2.'},
}
PREDICTOR = {'decoder_norm.': 'query_decoder.norm.', 'query_feat.': 'query_decoder.query_feat.',
             'query_embed.': 'query_decoder.query_pos.',
             'level_embed.': 'query_decoder.level_embed.', 'class_embed.': 'class_embed.'}


def _rename(key: str, table: Dict[str, str]) -> Optional[str]:
    """``key`` with the first matching prefix of ``table`` replaced; None if none matches.

    Args:
        key (str): Key (or key tail).
        table (dict[str, str]): Official prefix -> mmris prefix.

    Returns:
        str, optional: The renamed key.
    """
    for old, new in table.items():
        if key.startswith(old):
            return new + key[len(old):]
    return None


def _linear(v: Tensor) -> Tensor:
    """A 1x1 Conv1d / Conv2d weight (O, I, 1[, 1]) -> Linear (O, I); other tensors as they are."""
    return v.flatten(1) if v.dim() > 2 else v


def _image_fusion_key(rest: str) -> str:
    """Tail of an image-side fusion key (after ``layers.i.``) -> tail after ``fusions.i.``.

    Args:
        rest (str): E.g. ``fusion.image_lang_att.f_key.0.weight``, ``pyramids.2.3.weight``.

    Returns:
        str: E.g. ``pwam.attn.key.weight``, ``pyramids.2.2.weight``.
    """
    pyramid = re.match(r'pyramids\.(\d+)\.(\d)\.(.*)', rest)
    pwam = re.match(r'(fusion|fusions\.(\d+))\.(.*)', rest)
    if pyramid is not None and pyramid.group(2) in PYRAMID:
        return f'pyramids.{pyramid.group(1)}.{PYRAMID[pyramid.group(2)]}.{pyramid.group(3)}'
    if pwam is not None:
        tail = _rename(pwam.group(3), IMAGE_PWAM_KEYS)
        prefix = 'pwam.' if pwam.group(2) is None else f'pool_fusions.{pwam.group(2)}.'
        new = tail and prefix + tail
    else:
        new = _rename(rest, {'res_gate.': 'gate.layers.', 'mixer.': 'mixer.'})
    if new is None:
        raise KeyError(f'unknown MagNet image fusion key: {rest}')
    return new


def convert_image_model(state: Dict[str, Tensor]) -> Tuple['OrderedDict[str, Tensor]', List[str]]:
    """``image_model.*`` (prefix removed) -> ``SwinFusion`` keys: the Swin and the image
    side of the CAMs.

    Args:
        state (dict[str, Tensor]): ``MultiModalSwin`` state dict.

    Returns:
        tuple: the mmris ``backbone`` state dict, and the official keys (prefix removed) that
        the official graph does not use (:data:`UNUSED`).
    """
    swin, out, unused = OrderedDict(), OrderedDict(), []
    for k, v in state.items():
        m = re.match(r'layers\.(\d+)\.((fusion|fusions|res_gate|pyramids|mixer)\..*)', k)
        if UNUSED.match(k):
            unused.append(k)
        elif m is None:
            swin[k] = v
        else:
            out[f'fusions.{m.group(1)}.{_image_fusion_key(m.group(2))}'] = _linear(v)
    out.update(convert_official_swin(swin))
    return out, unused


def convert_language_model(state: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """``language_model.*`` (prefix and training-only parts removed) -> ``text_encoder.bert.*``
    and the text side of ``backbone.fusions.i`` (full mmris keys).

    Args:
        state (dict[str, Tensor]): ``MultiModalBert`` state dict without ``norms``.

    Returns:
        OrderedDict[str, Tensor]: mmris state dict.
    """
    bert, out = OrderedDict(), OrderedDict()
    for k, v in state.items():
        m = re.match(r'(pwams|res_gates)\.(\d+)\.(.*)', k)
        if m is None:
            bert[k] = v
            continue
        kind, i, rest = m.groups()
        new = 'word_gate.layers.' + rest if kind == 'res_gates' else \
            _rename(rest, WORD_PWAM_KEYS)
        if new is None:
            raise KeyError(f'unknown MagNet language_model key: {k}')
        out[f'backbone.fusions.{i}.{new}'] = _linear(v)
    out.update((f'text_encoder.bert.{k}', v) for k, v in convert_bert(bert).items())
    return out


def _reverse_levels(v: Tensor, num_levels: int, per_level: int) -> Tensor:
    """Rows (heads, levels, per_level) -> the same with the level axis reversed."""
    return v.reshape(-1, num_levels, per_level, *v.shape[1:]).flip(1).reshape(v.shape)


def convert_pixel_decoder(state: Dict[str, Tensor],
                          num_points: int = 4) -> 'OrderedDict[str, Tensor]':
    """``classifier.pixel_decoder.*`` (prefix removed) -> ``MSDeformAttnPixelDecoder`` keys.

    Args:
        state (dict[str, Tensor]): Official ``MSDeformAttnPixelDecoder`` state dict.
        num_points (int): Sampling points per head and level (official: 4, fixed).

    Returns:
        OrderedDict[str, Tensor]: mmris state dict, levels fine to coarse.
    """
    levels = state['transformer.level_embed'].shape[0]
    out = OrderedDict()
    for k, v in state.items():
        proj = re.match(r'input_proj\.(\d+)\.(.*)', k)
        layer = re.match(r'transformer\.encoder\.layers\.(\d+)\.(.*)', k)
        rest = layer and _rename(layer.group(2), ENCODER_LAYER)
        if proj is not None:
            out[f'input_proj.{levels - 1 - int(proj.group(1))}.{proj.group(2)}'] = v
        elif k == 'transformer.level_embed':
            out['level_embed'] = v.flip(0)
        elif k.startswith('mask_features.'):
            out[k] = v
        elif rest is not None:
            if rest.startswith('attn.sampling_offsets.'):
                v = _reverse_levels(v, levels, num_points * 2)
            elif rest.startswith('attn.attention_weights.'):
                v = _reverse_levels(v, levels, num_points)
            out[f'layers.{layer.group(1)}.{rest}'] = v
        else:
            raise KeyError(f'unknown MagNet pixel decoder key: {k}')
    return out


def convert_predictor(state: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """``classifier.predictor.*`` (prefix removed) -> ``MagNetHead`` keys (query decoder
    and class score).

    Args:
        state (dict[str, Tensor]): Official ``MultiScaleMaskedTransformerDecoder`` state dict.

    Returns:
        OrderedDict[str, Tensor]: mmris ``decode_head`` state dict (without the pixel decoder).
    """
    out = OrderedDict()
    for k, v in state.items():
        layer = re.match(r'(transformer_\w+_layers)\.(\d+)\.(.*)', k)
        mlp = re.match(r'mask_embed\.layers\.(\d+)\.(.*)', k)
        if layer is not None and layer.group(1) in QUERY_LAYERS:
            new = _rename(layer.group(3), QUERY_LAYERS[layer.group(1)])
            new = new and f'query_decoder.layers.{layer.group(2)}.{new}'
        elif mlp is not None:  # Linear-ReLU-Linear-ReLU-Linear
            new = f'query_decoder.mask_embed.{2 * int(mlp.group(1))}.{mlp.group(2)}'
        else:
            new = _rename(k, PREDICTOR)
        if new is None:
            raise KeyError(f'unknown MagNet predictor key: {k}')
        out[new] = v
    return out


def convert_magnet(checkpoint: dict,
                   num_points: int = 4) -> Tuple['OrderedDict[str, Tensor]', Dict[str, List[str]]]:
    """A released MagNet checkpoint (``model`` of ``WrapperModel``) -> mmris state dict.

    Args:
        checkpoint (dict): The loaded file (``{'model': state_dict, ...}``) or the state dict.
        num_points (int): Deformable sampling points of the pixel decoder (official: 4).

    Returns:
        tuple: the mmris state dict, and the official keys not loaded:
        ``{'training_only': [...], 'unused': [...]}``.
    """
    model = checkpoint.get('model', checkpoint)
    parts: Dict[str, 'OrderedDict[str, Tensor]'] = {p: OrderedDict() for p in PARTS}
    training_only = []
    for k, v in model.items():
        k = k[len('module.'):] if k.startswith('module.') else k
        head, _, rest = k.partition('.')
        if head not in parts:
            raise KeyError(f'unknown MagNet key: {k}')
        if k.startswith(TRAINING_ONLY):
            training_only.append(k)
        else:
            parts[head][rest] = v
    image, unused = convert_image_model(parts['image_model'])
    out = OrderedDict((f'backbone.{k}', v) for k, v in image.items())
    out.update(convert_language_model(parts['language_model']))
    classifier = {'pixel_decoder': OrderedDict(), 'predictor': OrderedDict()}
    for k, v in parts['classifier'].items():
        head, _, rest = k.partition('.')
        if head not in classifier:
            raise KeyError(f'unknown MagNet classifier key: classifier.{k}')
        classifier[head][rest] = v
    decoder = convert_pixel_decoder(classifier['pixel_decoder'], num_points)
    out.update((f'decode_head.pixel_decoder.{k}', v) for k, v in decoder.items())
    predictor = convert_predictor(classifier['predictor'])
    out.update((f'decode_head.{k}', v) for k, v in predictor.items())
    return out, dict(training_only=training_only,
                     unused=[f'image_model.{k}' for k in unused])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Released MagNet checkpoint -> mmris')
    parser.add_argument('--src', required=True, help='MagNet checkpoint (.pth)')
    parser.add_argument('--dst', required=True, help='output mmris checkpoint (.pth)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        checkpoint = load_checkpoint_file(args.src, map_location='cpu',
                                          safe_globals=SAFE_GLOBALS)
        if not isinstance(checkpoint, dict):
            raise ConverterInputError(f'{args.src}: expected a dict, got '
                                      f'{type(checkpoint).__name__}')
        model = checkpoint.get('model', checkpoint)
        require_parts({k[len('module.'):] if k.startswith('module.') else k: None
                       for k in model}, EXPECTED, args.src, 'MagNet', list(checkpoint))
        state_dict, not_loaded = convert_magnet(checkpoint)
    except KeyError as e:
        what = e.args[0] if ' ' in str(e.args[0]) else f'missing key {e.args[0]}'
        print(f'error: {args.src}: {what}; expected keys: {"; ".join(EXPECTED)}',
              file=sys.stderr)
        return 1
    except (UnsafeCheckpointError, CheckpointReadError, ConverterInputError,
            FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if 'model' in checkpoint:
        print(f'not converted (training state): {[k for k in checkpoint if k != "model"]}')
    print(f'not loaded, training only: {not_loaded["training_only"]}')
    print(f'not loaded, unused by the official graph: {not_loaded["unused"]}')
    print(f'not in the file, left at their initial values (training only): '
          f'{", ".join(p + "*" for p in MMRIS_TRAINING_ONLY)}')
    torch.save(dict(state_dict=state_dict, meta=dict(source=args.src, not_loaded=not_loaded)),
               args.dst)
    print(f'{len(state_dict)} tensors written to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
