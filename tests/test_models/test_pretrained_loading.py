"""Pretrained towers load all their tensors or fail naming the file, the part and the keys
(mmris.models.utils.load_pretrained / check_pretrained), the same rule for CLIP, Swin, BERT."""
import pytest
import torch
from mmengine.logging import MMLogger

from mmris.models.backbones import CLIPImageEncoder, SwinFusion
from mmris.models.utils import PretrainedMismatchError, load_pretrained
from mmris.utils import CheckpointMismatchError

transformers = pytest.importorskip('transformers')

TINY_SWIN = dict(embed_dims=16, depths=(1, 1, 1, 1), num_heads=(1, 2, 2, 4), window_size=4,
                 drop_path_rate=0.)
RESNET = dict(layers=[1, 1, 1, 1], width=16, heads=4, output_dim=32)


def _log_to(tmp_path, name):
    """A fresh current MMLogger writing to a file; returns the file."""
    path = tmp_path / f'{name}.log'
    MMLogger.get_instance(name, log_file=str(path))
    return path


def _swin_checkpoint(tmp_path):
    torch.manual_seed(0)
    src = SwinFusion(fusion=None, **TINY_SWIN)
    src.init_weights()
    state = {k: v for k, v in src.state_dict().items() if not k.startswith('norm')}
    state.update({'head.weight': torch.zeros(10, 128), 'head.bias': torch.zeros(10),
                  'norm.weight': torch.ones(128), 'norm.bias': torch.zeros(128)})
    path = tmp_path / 'swin_mmseg.pth'
    torch.save(dict(state_dict=state), path)
    return src, state, str(path)


def test_swin_loads_all_and_says_so_without_from_scratch_line(tmp_path):
    src, state, path = _swin_checkpoint(tmp_path)
    log = _log_to(tmp_path, 'swin_ok')
    dst = SwinFusion(fusion=dict(type='PWAMFusion'), text_dims=8, pretrained=path, **TINY_SWIN)
    dst.init_weights()
    text = log.read_text()
    assert 'training start from scratch' not in text and 'random init' not in text
    n = len(dst.state_dict())
    loaded = [k for k in state if not k.endswith('_index') and k.split('.')[0] != 'head'
              and k.split('.')[0] != 'norm']
    assert f'SwinFusion image backbone: loaded {len(loaded)} of its {n} tensors' in text
    assert 'kept their init: fusions' in text and 'ignored from the file: head' in text
    for k in ('stages.2.blocks.0.ffn.layers.1.weight', 'patch_embed.projection.weight'):
        assert torch.equal(dst.state_dict()[k], state[k])
    # mmseg's way to name the file
    other = SwinFusion(fusion=None, init_cfg=dict(type='Pretrained', checkpoint=path),
                       **TINY_SWIN)
    other.init_weights()
    assert torch.equal(other.state_dict()['patch_embed.projection.weight'],
                       state['patch_embed.projection.weight'])
    # without a pretrained file it says so itself (mmseg's line is not printed either)
    SwinFusion(fusion=None, **TINY_SWIN).init_weights()
    text = log.read_text()
    assert 'SwinFusion: no pretrained Swin, random init' in text
    assert 'training start from scratch' not in text


def test_swin_missing_tensor_is_an_error(tmp_path):
    _, state, _ = _swin_checkpoint(tmp_path)
    del state['stages.1.blocks.0.attn.w_msa.qkv.weight']
    path = tmp_path / 'cut.pth'
    torch.save(state, path)
    with pytest.raises(PretrainedMismatchError) as info:
        SwinFusion(fusion=None, pretrained=str(path), **TINY_SWIN).init_weights()
    msg = str(info.value)
    assert str(path) in msg and 'SwinFusion image backbone' in msg
    assert '1 keys of the SwinFusion image backbone missing from the file: ' \
        'stages.1.blocks.0.attn.w_msa.qkv.weight' in msg


def test_clip_checkpoint_given_as_swin_pretrained(tmp_path):
    torch.manual_seed(0)
    clip = CLIPImageEncoder(RESNET)
    path = tmp_path / 'RN50.pt'
    torch.save({f'visual.{k}': v for k, v in clip.visual.state_dict().items()}, path)
    with pytest.raises(PretrainedMismatchError) as info:
        SwinFusion(fusion=None, pretrained=str(path), **TINY_SWIN).init_weights()
    msg = str(info.value)
    assert msg.startswith(f'{path} does not fit the SwinFusion image backbone: 0 of its')
    assert 'It is not a checkpoint of this part' in msg
    assert 'missing from the file: patch_embed.norm.bias' in msg
    assert 'keys of the file the SwinFusion image backbone does not have: visual.' in msg
    assert isinstance(info.value, CheckpointMismatchError)  # one family of errors


def test_load_pretrained_shapes_and_tolerance():
    m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    state = {k: v.clone() for k, v in m.state_dict().items()}
    state['0.weight'] = torch.zeros(4, 2)
    with pytest.raises(PretrainedMismatchError, match=r'0\.weight: checkpoint \(4, 2\)'):
        load_pretrained(m, state, 'f.pth', 'toy part')
    state = {k: v for k, v in m.state_dict().items() if k.startswith('0.')}
    with pytest.raises(PretrainedMismatchError, match='missing from the file: 1.bias, 1.weight'):
        load_pretrained(m, state, 'f.pth', 'toy part')
    load_pretrained(m, dict(state, extra=torch.ones(1)), 'f.pth', 'toy part',
                    tolerated_missing=(r'1\.', ), tolerated_unexpected=('extra$', ))


def _tiny_bert_dir(root):
    config = transformers.BertConfig(vocab_size=12, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=16)
    (root / 'vocab.txt').write_text('\n'.join(
        ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'man', 'left', 'red', 'car',
         'on', 'dog']) + '\n')
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(root))
    return config


def test_bert_with_unrelated_weights_is_an_error(tmp_path):
    from safetensors.torch import save_file

    from mmris.models.text_encoders import BERTTextEncoder
    config = _tiny_bert_dir(tmp_path)
    renamed = {f'encoder_v2.{k}': v.contiguous()
               for k, v in transformers.BertModel(config).state_dict().items()}
    save_file(renamed, str(tmp_path / 'model.safetensors'))
    enc = BERTTextEncoder(str(tmp_path), word_len=6)
    with pytest.raises(PretrainedMismatchError) as info:
        enc.init_weights()
    msg = str(info.value)
    assert msg.startswith(f'{tmp_path / "model.safetensors"} does not fit the BERT text '
                          'encoder: 0 of its')
    assert 'missing from the file: embeddings.LayerNorm.bias' in msg
    assert 'does not have: encoder_v2.' in msg


def test_bert_loads_all_with_its_pooler_ignored(tmp_path):
    from mmris.models.text_encoders import BERTTextEncoder
    _tiny_bert_dir(tmp_path)  # saved with its pooler
    log = _log_to(tmp_path, 'bert_ok')
    enc = BERTTextEncoder(str(tmp_path), word_len=6)
    enc.init_weights()
    ref = transformers.BertModel.from_pretrained(str(tmp_path))
    n = len(enc.bert.state_dict())
    assert torch.equal(enc.bert.encoder.layer[0].output.dense.weight,
                       ref.encoder.layer[0].output.dense.weight)
    text = log.read_text()
    assert f'BERT text encoder: loaded {n} of its {n} tensors' in text
    assert r'ignored from the file: pooler\. (2)' in text
