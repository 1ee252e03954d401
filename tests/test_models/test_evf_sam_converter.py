"""The converter of released EVF-SAM / EVF-SAM2 checkpoints on state dicts with the official
key names and shapes, built here for tiny models: ``EvfSamModel`` is SAM (``Sam`` of
segment_anything) as ``visual_model``, ``BEiT3Wrapper`` (torchscale's ``BEiT3`` as
``beit3``) as ``mm_extractor`` and ``text_hidden_fcs`` (ModuleList of Linear-ReLU-Linear);
``EvfSam2Model`` the same with SAM-2's ``SAM2Base``."""
import copy
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn

pytest.importorskip('torchscale')
pytest.importorskip('segment_anything')
pytest.importorskip('sam2')
pytest.importorskip('sentencepiece')

from mmris.registry import MODELS  # noqa: E402
from .test_evf_sam import sample_batch, spm, tiny_sam2_model, toy_cfg  # noqa: E402,F401

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'model_converters',
                'evfsam2mmris.py')


def _converter():
    spec = importlib.util.spec_from_file_location('evfsam2mmris', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def official_sam_state(cfg) -> dict:
    """An ``EvfSamModel`` state dict of the toy widths, from the libraries' own classes."""
    from segment_anything.modeling import Sam
    from torchscale.architecture.config import EncoderConfig
    from torchscale.model.BEiT3 import BEiT3
    m = cfg.model
    parts = {k: MODELS.build(m[k]) for k in ('backbone', 'decode_head')}
    sam = Sam(parts['backbone'].encoder, parts['decode_head'].prompt_encoder,
              parts['decode_head'].mask_decoder)
    a = m.text_encoder.arch
    beit3 = BEiT3(EncoderConfig(
        img_size=m.text_encoder.img_size, patch_size=m.text_encoder.patch_size,
        vocab_size=m.text_encoder.vocab_size, multiway=True, layernorm_embedding=False,
        normalize_output=True, no_output_layer=True, encoder_embed_dim=a.embed_dims,
        encoder_attention_heads=a.num_heads, encoder_ffn_embed_dim=a.ffn_dims,
        encoder_layers=a.num_layers))
    c = a.embed_dims
    fcs = nn.ModuleList([nn.Sequential(nn.Linear(c, c), nn.ReLU(),
                                       nn.Linear(c, m.text_encoder.out_channels))])
    state = {f'visual_model.{k}': v for k, v in sam.state_dict().items()}
    state.update({f'mm_extractor.beit3.{k}': v for k, v in beit3.state_dict().items()})
    state.update({f'text_hidden_fcs.{k}': v for k, v in fcs.state_dict().items()})
    return {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in state.items()}


def test_sam_checkpoint_converts_and_loads_strictly(toy_cfg, tmp_path):
    from safetensors.torch import save_file
    conv = _converter()
    official = official_sam_state(toy_cfg)
    assert 'visual_model.image_encoder.blocks.0.attn.rel_pos_h' in official
    assert 'mm_extractor.beit3.encoder.layers.0.ffn.A.fc1.weight' in official
    path = str(tmp_path / 'model.safetensors')
    save_file(official, path)  # as released (one shard)
    state, left_out = conv.convert_evf_sam(conv.load_released(str(tmp_path)))
    assert left_out == []
    model = MODELS.build(toy_cfg.model)
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.text_encoder.proj[2].weight,
                               official['text_hidden_fcs.0.2.weight'])
    torch.testing.assert_close(model.backbone.encoder.patch_embed.proj.weight,
                               official['visual_model.image_encoder.patch_embed.proj.weight'])
    # the .bin form, and an unknown key is an error
    torch.save(official, str(tmp_path / 'pytorch_model.bin'))
    assert conv.load_released(str(tmp_path / 'pytorch_model.bin')).keys() == official.keys()
    with pytest.raises(KeyError, match='lm_head'):
        conv.convert_evf_sam({**official, 'lm_head.weight': torch.zeros(1)})


def test_sam2_checkpoint_converts_and_loads_strictly(toy_cfg):
    conv = _converter()
    model = MODELS.build(tiny_sam2_model(toy_cfg))
    ours = model.state_dict()
    table = [('backbone.image_encoder.', 'visual_model.image_encoder.'),
             ('backbone.no_mem_embed', 'visual_model.no_mem_embed'),
             ('decode_head.prompt_encoder.', 'visual_model.sam_prompt_encoder.'),
             ('decode_head.mask_decoder.', 'visual_model.sam_mask_decoder.'),
             ('text_encoder.beit3.', 'mm_extractor.beit3.'),
             ('text_encoder.proj.', 'text_hidden_fcs.0.')]
    official = {}
    for k, v in ours.items():
        src, dst = next((s, d) for s, d in table if k.startswith(s))
        official[dst + k[len(src):]] = torch.randn_like(v) if v.is_floating_point() else v
    assert 'visual_model.sam_mask_decoder.conv_s0.weight' in official
    video = {'visual_model.memory_attention.layers.0.linear1.weight': torch.zeros(2, 2),
             'visual_model.maskmem_tpos_enc': torch.zeros(7, 1, 1, 64),
             'visual_model.obj_ptr_proj.layers.0.weight': torch.zeros(2, 2)}
    state, left_out = conv.convert_evf_sam({**official, **video})
    assert sorted(left_out) == sorted(video)
    fresh = MODELS.build(tiny_sam2_model(toy_cfg))
    fresh.load_state_dict(state, strict=True)
    torch.testing.assert_close(fresh.backbone.no_mem_embed, official['visual_model.no_mem_embed'])
    with torch.no_grad():  # the converted weights give one model's outputs
        model.load_state_dict(state)
        batch = sample_batch(model, 64)
        a = model.eval()(**batch, mode='tensor')
        b = fresh.eval()(**copy.deepcopy(batch), mode='tensor')
    torch.testing.assert_close(a, b)
