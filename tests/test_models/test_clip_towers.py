import pytest
import torch
import torch.nn as nn

from mmris.models.backbones import CLIPImageEncoder
from mmris.models.text_encoders import CLIPTextEncoder
from mmris.models.utils import PretrainedMismatchError

RESNET = dict(layers=[1, 1, 1, 1], width=16, heads=4, output_dim=32)
VIT = dict(layers=3, width=32, heads=4, patch_size=16, output_dim=24)
TEXT = dict(width=32, heads=4, layers=1, output_dim=48)
SOT, EOT = 49406, 49407


def test_text_truncation_keeps_eot_and_empty_text():
    enc = CLIPTextEncoder(TEXT, word_len=8).eval()
    long_text = 'the man on the left in the red shirt holding a blue umbrella near the door'
    out = enc([long_text, '', 'dog'])
    t = out.tokens
    assert t.shape == (3, 8)
    assert t[0, 0] == SOT and t[0, -1] == EOT and (t[0, 1:-1] != EOT).all()
    assert t[1, :2].tolist() == [SOT, EOT] and (t[1, 2:] == 0).all()
    assert out.mask[0].tolist() == [False] * 8
    assert out.mask[1].tolist() == [False] * 2 + [True] * 6
    # token id 0 is a real BPE token ('!'): padding is what follows EOT, not zeros
    tokens = torch.tensor([[SOT, 0, 320, EOT, 0, 0, 0, 0]])
    assert enc(tokens).mask[0].tolist() == [False] * 4 + [True] * 4
    assert out.words.shape == (3, 8, 32) and out.sentence.shape == (3, 48)
    eot = (t == EOT).int().argmax(1)
    expected = out.words[torch.arange(3), eot] @ enc.text.text_projection
    assert torch.allclose(out.sentence, expected, atol=1e-5)
    assert enc.text.positional_embedding.shape == (8, 32)


def test_text_cut_and_padding():
    enc = CLIPTextEncoder(TEXT, word_len=8).eval()
    text = 'the man on the left in the red shirt holding a blue umbrella'
    full = CLIPTextEncoder(TEXT, word_len=77).tokenize([text])[0]
    cut = enc.tokenize([text])[0]
    assert torch.equal(cut[:7], full[:7]) and cut[7] == EOT  # cut, then EOT
    # causal attention: what follows EOT changes neither the words nor the sentence
    out = enc(['red ball'])
    tokens = out.tokens.clone()
    tokens[out.mask] = 500
    other = enc(tokens)
    keep = ~out.mask
    assert torch.allclose(other.words[keep], out.words[keep], atol=1e-5)
    assert torch.allclose(other.sentence, out.sentence, atol=1e-5)


@pytest.mark.parametrize('hw', [(128, 128), (96, 160)])
def test_resnet_dense_outputs_follow_input_size(hw):
    enc = CLIPImageEncoder(RESNET, out_global=True).eval()
    H, W = hw
    c3, c4, c5, glob = enc(torch.randn(2, 3, H, W))
    assert c3.shape == (2, 128, H // 8, W // 8)
    assert c4.shape == (2, 256, H // 16, W // 16)
    assert c5.shape == (2, 32, H // 32, W // 32)
    assert glob.shape == (2, 32)
    assert (c5 >= 0).all()  # the residual branch ends in a ReLU


def test_resnet_dense_pool_matches_reference_attention():
    """Every pixel attends to all pixels (no mean token), positions resized bicubically."""
    torch.manual_seed(0)
    pool = CLIPImageEncoder(RESNET).eval().visual.attnpool
    x = torch.randn(2, 512, 3, 5)
    pos = pool.positional_embedding[1:].reshape(1, 7, 7, 512).permute(0, 3, 1, 2)
    pos = nn.functional.interpolate(pos, (3, 5), mode='bicubic', align_corners=False)
    tokens = (x + pos).flatten(2).permute(2, 0, 1)  # HW, B, C
    att, _ = nn.functional.multi_head_attention_forward(
        tokens, tokens, tokens, 512, 4, None,
        torch.cat([pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]), None, None, False,
        0., pool.c_proj.weight, pool.c_proj.bias, training=False, need_weights=False,
        use_separate_proj_weight=True, q_proj_weight=pool.q_proj.weight,
        k_proj_weight=pool.k_proj.weight, v_proj_weight=pool.v_proj.weight)
    expected = torch.relu(att.permute(1, 2, 0).reshape(2, 32, 3, 5) + pool.connect(x))
    dense, glob = pool(x, with_global=True)
    assert torch.allclose(dense, expected, atol=1e-5)
    assert glob.shape == (2, 32)


def test_vit_outputs():
    enc = CLIPImageEncoder(VIT, out_indices=(0, 2), out_global=True).eval()
    a, b, glob = enc(torch.randn(2, 3, 64, 96))
    assert a.shape == b.shape == (2, 32, 4, 6)
    assert glob.shape == (2, 24)


def _fake_clip_state(image: CLIPImageEncoder, text: CLIPTextEncoder, n_pos: int = 77) -> dict:
    """A CLIP-style state dict (visual.*, top-level text keys, logit_scale)."""
    state = {f'visual.{k}': torch.randn_like(v.float()).to(v.dtype)
             for k, v in image.visual.state_dict().items() if 'connect' not in k}
    for k, v in text.text.state_dict().items():
        state[k] = torch.randn(n_pos, v.shape[1]) if k == 'positional_embedding' \
            else torch.randn_like(v.float()).to(v.dtype)
    state['logit_scale'] = torch.tensor(4.6)
    return state


def test_pretrained_loading(tmp_path):
    image, text = CLIPImageEncoder(RESNET), CLIPTextEncoder(TEXT, word_len=8)
    state = _fake_clip_state(image, text)
    path = str(tmp_path / 'clip.pt')
    torch.save({'state_dict': {'module.' + k: v for k, v in state.items()}}, path)
    image2 = CLIPImageEncoder(RESNET, pretrained=path)
    text2 = CLIPTextEncoder(TEXT, word_len=8, pretrained=path)
    image2.init_weights()
    text2.init_weights()
    assert torch.equal(image2.visual.layer3[0].conv2.weight, state['visual.layer3.0.conv2.weight'])
    assert torch.equal(image2.visual.attnpool.q_proj.weight,
                       state['visual.attnpool.q_proj.weight'])
    assert torch.equal(text2.text.positional_embedding, state['positional_embedding'][:8])
    assert torch.equal(text2.text.transformer.resblocks[0].attn.in_proj_weight,
                       state['transformer.resblocks.0.attn.in_proj_weight'])


def test_pretrained_loading_from_torchscript(tmp_path):
    """OpenAI's files are TorchScript archives holding the whole CLIP model."""
    image, text = CLIPImageEncoder(RESNET), CLIPTextEncoder(TEXT, word_len=8)
    state = _fake_clip_state(image, text)

    class FakeCLIP(nn.Module):
        def __init__(self):
            super().__init__()
            self.visual = nn.Module()
            for k, v in state.items():  # parameters under CLIP's names
                *path, name = k.split('.')
                mod = self
                for p in path:
                    if not hasattr(mod, p):
                        mod.add_module(p, nn.Module())
                    mod = getattr(mod, p)
                mod.register_parameter(name, nn.Parameter(v.float(), requires_grad=False)) \
                    if v.is_floating_point() else mod.register_buffer(name, v)
            self.register_buffer('input_resolution', torch.tensor(224))

        def forward(self, x):
            return x * self.logit_scale

    path = str(tmp_path / 'RN.pt')
    torch.jit.save(torch.jit.trace(FakeCLIP(), torch.ones(1)), path)
    image2 = CLIPImageEncoder(RESNET, pretrained=path)
    image2.init_weights()
    text2 = CLIPTextEncoder(TEXT, word_len=8, pretrained=path)
    text2.init_weights()
    assert torch.equal(image2.visual.conv1.weight, state['visual.conv1.weight'])
    assert torch.equal(text2.text.ln_final.weight, state['ln_final.weight'])


def test_pretrained_errors(tmp_path):
    missing = str(tmp_path / 'nope' / 'RN50.pt')
    enc = CLIPImageEncoder(RESNET, pretrained=missing)
    with pytest.raises(FileNotFoundError, match='nope/RN50.pt'):
        enc.init_weights()
    image, text = CLIPImageEncoder(RESNET), CLIPTextEncoder(TEXT, word_len=8)
    state = _fake_clip_state(image, text)
    del state['visual.layer1.0.conv1.weight']
    state['visual.extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'bad.pt')
    torch.save(state, path)
    with pytest.raises(PretrainedMismatchError,
                       match=r'(?s)bad\.pt does not fit the CLIP image encoder.*missing from '
                       r'the file: layer1\.0\.conv1\.weight\n.*does not have: extra\.weight'):
        CLIPImageEncoder(RESNET, pretrained=path).init_weights()


def test_text_cut_is_cris_rule():
    """CRIS.pytorch utils/dataset.py tokenize(texts, word_len, truncate=True), written out:
    SOT + BPE + EOT, cut to word_len and the last kept token replaced by EOT."""
    from open_clip.tokenizer import SimpleTokenizer
    tok = SimpleTokenizer()
    texts = ['the man on the left in the red shirt holding a blue umbrella near the door',
             'a dog', 'the second giraffe from the right , whose head is lower than the others']
    enc = CLIPTextEncoder(TEXT, word_len=9).eval()
    got = enc.tokenize(texts)
    for i, text in enumerate(texts):
        ids = [SOT] + tok.encode(text) + [EOT]
        if len(ids) > 9:
            ids = ids[:9]
            ids[-1] = EOT
        assert got[i].tolist() == ids + [0] * (9 - len(ids))
    assert enc.count_tokens(texts) == [len(tok.encode(t)) + 2 for t in texts]
    c = enc.truncation_stats.counts['eval']
    assert c['seen'] == 3 and c['cut'] == 2 and c['longest'] == max(enc.count_tokens(texts))
