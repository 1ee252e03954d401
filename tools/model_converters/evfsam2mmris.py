"""Convert a released EVF-SAM / EVF-SAM2 checkpoint (Hugging Face ``YxZhang/evf-sam``,
``evf-sam2``, ``evf-sam-multitask``, ``evf-sam2-multitask``) to mmris.

    python tools/model_converters/evfsam2mmris.py --src path/to/evf-sam --dst evf_sam.pth

``--src``: the downloaded directory (``*.safetensors``, sharded or not, else
``pytorch_model*.bin``) or one such file. Safetensors are read with the ``safetensors``
package (no code runs); ``.bin`` with ``torch.load(weights_only=True)``.

The released model is ``EvfSamModel`` / ``EvfSam2Model`` (hustvl/EVF-SAM, ``model/``):

- ``visual_model.image_encoder.*`` -> ``backbone.encoder.*`` (SAM) or
  ``backbone.image_encoder.*`` (SAM-2; its ``visual_model.no_mem_embed`` ->
  ``backbone.no_mem_embed``);
- ``visual_model.prompt_encoder.*`` / ``visual_model.sam_prompt_encoder.*`` ->
  ``decode_head.prompt_encoder.*``;
- ``visual_model.mask_decoder.*`` / ``visual_model.sam_mask_decoder.*`` ->
  ``decode_head.mask_decoder.*``;
- ``mm_extractor.beit3.*`` -> ``text_encoder.beit3.*``;
- ``text_hidden_fcs.0.{0,2}.*`` -> ``text_encoder.proj.{0,2}.*``.

SAM-2's video parts (memory attention / encoder, object pointers, mask downsampler, their
position encodings: :data:`SAM2_VIDEO`) are not used by EVF-SAM2's image path and are not
converted; they are reported. Any other key is an error, and the result is for
``configs/_base_/models/evfsam_sam-h-beit3-l.py`` (SAM) or ``evfsam2_hiera-l-beit3-l.py``
(SAM-2), which it loads into with ``strict=True`` (``--check-config``).
The multitask checkpoints' tokenizer adds ``[semantic]`` (id 64002): point the config's
``model.text_encoder.tokenizer`` at the checkpoint directory to use it.
"""
import argparse
import glob
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
from torch import Tensor

#: SAM-2 video-only parts of ``SAM2Base`` (prefixes after ``visual_model.``).
SAM2_VIDEO = ('memory_attention.', 'memory_encoder.', 'maskmem_tpos_enc', 'no_mem_pos_enc',
              'no_obj_ptr', 'obj_ptr_proj.', 'obj_ptr_tpos_proj.', 'mask_downsample.',
              'no_obj_embed_spatial')


def load_released(src: str) -> Dict[str, Tensor]:
    """The state dict of a released checkpoint directory or file (merged shards)."""
    if osp.isdir(src):
        files = sorted(glob.glob(osp.join(src, '*.safetensors'))) or \
            sorted(glob.glob(osp.join(src, 'pytorch_model*.bin')))
        if not files:
            raise FileNotFoundError(f'{src}: no *.safetensors or pytorch_model*.bin')
    elif osp.isfile(src):
        files = [src]
    else:
        raise FileNotFoundError(f'checkpoint not found: {src}')
    state = {}
    for f in files:
        if f.endswith('.safetensors'):
            from safetensors.torch import load_file
            state.update(load_file(f, device='cpu'))
        else:
            ckpt = torch.load(f, map_location='cpu', weights_only=True)
            state.update(ckpt.get('state_dict', ckpt))
    return state


def convert_evf_sam(state: Dict[str, Tensor]) -> Tuple['OrderedDict[str, Tensor]', List[str]]:
    """Official keys -> mmris keys, and the SAM-2 video keys left out.

    Raises:
        KeyError: a key outside the mapping and :data:`SAM2_VIDEO`.
    """
    sam2 = any(k.startswith('visual_model.sam_mask_decoder.') for k in state)
    table = [('mm_extractor.beit3.', 'text_encoder.beit3.'),
             ('text_hidden_fcs.0.', 'text_encoder.proj.')]
    if sam2:
        table += [('visual_model.image_encoder.', 'backbone.image_encoder.'),
                  ('visual_model.no_mem_embed', 'backbone.no_mem_embed'),
                  ('visual_model.sam_prompt_encoder.', 'decode_head.prompt_encoder.'),
                  ('visual_model.sam_mask_decoder.', 'decode_head.mask_decoder.')]
    else:
        table += [('visual_model.image_encoder.', 'backbone.encoder.'),
                  ('visual_model.prompt_encoder.', 'decode_head.prompt_encoder.'),
                  ('visual_model.mask_decoder.', 'decode_head.mask_decoder.')]
    out, left_out, unknown = OrderedDict(), [], []
    for key, value in state.items():
        new = next((dst + key[len(src):] for src, dst in table if key.startswith(src)), None)
        if new is not None:
            out[new] = value
        elif sam2 and key.startswith('visual_model.') and \
                key[len('visual_model.'):].startswith(SAM2_VIDEO):
            left_out.append(key)
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'keys outside the EVF-SAM mapping: {unknown[:10]}'
                       f'{" ..." if len(unknown) > 10 else ""}')
    return out, left_out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Released EVF-SAM checkpoint -> mmris')
    parser.add_argument('--src', required=True,
                        help='checkpoint directory or file (.safetensors / .bin)')
    parser.add_argument('--dst', required=True, help='output mmris checkpoint (.pth)')
    parser.add_argument('--check-config',
                        help='build this config and load the result into it strictly')
    parser.add_argument('--float32', action='store_true',
                        help='store float32 (the releases are half precision)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    state, left_out = convert_evf_sam(load_released(args.src))
    if args.float32:
        state = OrderedDict((k, v.float()) for k, v in state.items())
    if left_out:
        print(f'not converted (SAM-2 video parts, unused by EVF-SAM2): {len(left_out)} keys')
    if args.check_config:
        from mmengine.config import Config

        from mmris.registry import MODELS
        from mmris.utils import register_all_modules
        register_all_modules()
        cfg = Config.fromfile(args.check_config)
        for part in ('backbone', 'text_encoder', 'decode_head'):
            cfg.model[part].pretrained = None
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
        model.load_state_dict(state, strict=True, assign=True)
        print(f'loads strictly into {args.check_config}')
    torch.save(dict(state_dict=state, meta=dict(source=args.src, not_converted=left_out)),
               args.dst)
    print(f'{len(state)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
