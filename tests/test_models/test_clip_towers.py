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


# An OpenAI-style CLIP as open_clip builds it (embed_dim 32, 64 x 64 images, 8 tokens)
OC_TEXT = dict(context_length=8, vocab_size=100, width=32, heads=4, layers=1)
OC_VISION = {
    'resnet': (dict(layers=(1, 1, 1, 1), width=16, head_width=128, image_size=64),
               dict(layers=[1, 1, 1, 1], width=16, heads=4, output_dim=32, image_size=64)),
    'vit': (dict(layers=2, width=32, head_width=8, patch_size=16, image_size=64),
            dict(layers=2, width=32, heads=4, patch_size=16, output_dim=32, image_size=64)),
}


def _traced_open_clip(tmp_path, tower, half=True, script=False):
    """torch.jit.trace + save of open_clip's CLIP: the layout of OpenAI's released files
    (fp16 weights like theirs); or torch.jit.script."""
    import warnings

    from open_clip.model import CLIP
    torch.manual_seed(0)
    model = CLIP(embed_dim=32, vision_cfg=OC_VISION[tower][0], text_cfg=OC_TEXT,
                 quick_gelu=True).eval()
    dtype = torch.float16 if half else torch.float32
    model.to(dtype)
    path = str(tmp_path / f'{tower}.pt')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.script(model) if script else torch.jit.trace(
            model, (torch.randn(1, 3, 64, 64, dtype=dtype), torch.zeros(1, 8, dtype=torch.long)),
            check_trace=False)
        torch.jit.save(traced, path)
    return path


@pytest.mark.parametrize('tower,script', [('resnet', False), ('vit', False), ('vit', True)])
def test_openai_archive_read_as_data(tmp_path, monkeypatch, tower, script):
    """The reader gives exactly torch.jit.load(path).state_dict(), without torch.jit.load, and
    the towers load from the archive as before."""
    import re
    import zipfile

    from mmris.models.utils import load_clip_state_dict
    from mmris.utils.torchscript import load_torchscript_state_dict
    path = _traced_open_clip(tmp_path, tower, script=script)
    expected = torch.jit.load(path, map_location='cpu').state_dict()
    assert any(k.endswith('running_mean') for k in expected) == (tower == 'resnet')

    def no_jit(*args, **kwargs):
        raise AssertionError('torch.jit.load was called')
    monkeypatch.setattr(torch.jit, 'load', no_jit)
    got = load_torchscript_state_dict(path)
    assert list(got) == list(expected)
    for k, v in expected.items():
        assert got[k].dtype == v.dtype and torch.equal(got[k], v), k
    assert {v.dtype for v in got.values()} >= {torch.float16}
    assert list(load_clip_state_dict(path)) == list(expected)
    # archives whose code has no __buffers__ lines (older torch): the other tensors are buffers
    old = str(tmp_path / 'old.pt')
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, 'w') as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, re.sub(rb'  __buffers__ = \[.*\]\n', b'', data)
                         if info.filename.endswith('.py') else data)
    assert list(load_torchscript_state_dict(old)) == list(expected)

    image = CLIPImageEncoder(OC_VISION[tower][1], pretrained=path)
    text = CLIPTextEncoder(dict(width=32, heads=4, layers=1, output_dim=32), word_len=6,
                           vocab_size=100, pretrained=path)
    image.init_weights()
    text.init_weights()
    loaded = 0
    for part, prefix, state in ((image.visual, 'visual.', expected), (text.text, '', expected)):
        for k, v in part.state_dict().items():
            if prefix + k in state:
                want = state[prefix + k]
                want = want[:6] if k == 'positional_embedding' and not prefix else want
                assert torch.equal(v, want.to(v.dtype)), k
                loaded += 1
    assert loaded == len([k for k in expected if k not in ('logit_scale', 'attn_mask')])


@pytest.mark.parametrize('payload', ['posix.system', 'builtins.eval'])
def test_hostile_openai_archive_is_refused(tmp_path, payload):
    """A data.pkl naming a global whose call creates a file: refused, nothing runs."""
    import pickle
    import zipfile

    from mmris.utils import UnsafeCheckpointError
    good = _traced_open_clip(tmp_path, 'vit', half=False)
    flag = tmp_path / 'pwned'
    module, name = payload.split('.')
    arg = f'touch {flag}' if name == 'system' else f'open({str(flag)!r}, "w")'
    evil = (f'c{module}\n{name}\n(' .encode() + pickle.dumps(arg, protocol=0)[:-1]
            + b'tR.')
    bad = str(tmp_path / 'ViT-B-16.pt')
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, 'w') as dst:
        for info in src.infolist():
            data = evil if info.filename.endswith('/data.pkl') else src.read(info)
            dst.writestr(info, data)
    image = CLIPImageEncoder(OC_VISION['vit'][1], pretrained=bad)
    with pytest.raises(UnsafeCheckpointError, match=rf'ViT-B-16\.pt: refused .*{payload}') as e:
        image.init_weights()
    assert 'never loads its code' in str(e.value)
    assert not flag.exists()


def test_zip_that_is_no_archive(tmp_path):
    import zipfile

    from mmris.models.utils import load_clip_state_dict
    from mmris.utils import CheckpointReadError
    no_pkl = str(tmp_path / 'RN50.pt')  # TorchScript layout without data.pkl
    with zipfile.ZipFile(no_pkl, 'w') as z:
        z.writestr('RN50/code/__torch__/model.py', 'class CLIP(Module): pass\n')
        z.writestr('RN50/constants.pkl', b'')
    with pytest.raises(CheckpointReadError, match=r'RN50\.pt is not a TorchScript archive'):
        load_clip_state_dict(no_pkl)
    for i, name in enumerate(['notes.txt', 'notes/notes.txt']):  # zips of something else
        other = str(tmp_path / f'notes{i}.pt')
        with zipfile.ZipFile(other, 'w') as z:
            z.writestr(name, 'hello')
        with pytest.raises(CheckpointReadError, match=rf'notes{i}\.pt .*not a torch.save file'):
            load_clip_state_dict(other)
