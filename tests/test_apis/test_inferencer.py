"""RISInferencer end to end on a tiny random CRIS, and its messages on bad input."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmris.apis import CheckpointMismatchError, RISInferencer, load_ris_image
from mmris.registry import INFERENCERS
from .conftest import TINY_CONFIG


def check_prediction(pred: dict, shape: tuple) -> None:
    assert pred['mask'].shape == shape and pred['mask'].dtype == np.uint8
    assert set(np.unique(pred['mask'])) <= {0, 1}
    assert 0.0 <= pred['score'] <= 1.0


def test_registered():
    assert INFERENCERS.get('RISInferencer') is RISInferencer
    assert INFERENCERS.get('ris') is RISInferencer


def test_one_image_one_sentence(inferencer, images):
    result = inferencer(images['color'], '  The RED  ball ')
    (pred,) = result['predictions']
    check_prediction(pred, (60, 80))
    # the config's test pipeline cleaned the sentence
    assert pred['text'] == 'the red ball'
    assert pred['img_path'] == images['color'] and pred['sent_id'] == 0
    assert pred['num_tokens'] == 5 and pred['truncated'] is False
    assert result['visualization'] == []


def test_several_sentences_write_distinct_files(inferencer, images, tmp_path):
    sentences = ['the dog', 'the cat on the left', 'the dog']
    result = inferencer(images['color'], sentences, out_dir=str(tmp_path), return_vis=True)
    preds = result['predictions']
    assert [p['sent_id'] for p in preds] == [0, 1, 2]
    # the same sentence twice: the same mask, and still a file each
    np.testing.assert_array_equal(preds[0]['mask'], preds[2]['mask'])
    names = [f'color_sent{i}.png' for i in range(3)]
    assert sorted(os.listdir(tmp_path / 'vis')) == names
    assert sorted(os.listdir(tmp_path / 'pred')) == names
    assert [v.shape for v in result['visualization']] == [(60, 80, 3)] * 3


def test_batching_does_not_change_results(inferencer, images):
    imgs = [images['color'], images['gray'], images['rgba'], images['color']]
    texts = ['the dog', ['a cat', 'the left one'], 'the car', 'a bird']
    one = inferencer(imgs, texts, batch_size=1)['predictions']
    many = inferencer(imgs, texts, batch_size=3)['predictions']
    assert [(p['input_index'], p['sent_id']) for p in many] == \
        [(0, 0), (1, 0), (1, 1), (2, 0), (3, 0)]
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a['mask'], b['mask'])
        assert a['score'] == pytest.approx(b['score'], abs=1e-5)


def test_arrays_grayscale_and_rgba(inferencer, images):
    rng = np.random.default_rng(1)
    arrays = [
        rng.integers(0, 255, (40, 50, 3), dtype=np.uint8),
        rng.integers(0, 255, (40, 50), dtype=np.uint8),  # grayscale
        rng.integers(0, 255, (40, 50, 1), dtype=np.uint8),
        rng.integers(0, 255, (40, 50, 4), dtype=np.uint8),  # BGRA
    ]
    for pred in inferencer(arrays, 'the thing')['predictions']:
        check_prediction(pred, (40, 50))
        assert pred['img_path'] is None
    for key, shape in (('gray', (50, 40)), ('rgba', (30, 70))):
        check_prediction(inferencer(images[key], 'the thing')['predictions'][0], shape)
    # a BGRA array gives what its BGR part gives
    a = inferencer(arrays[3], 'x')['predictions'][0]['mask']
    b = inferencer(np.ascontiguousarray(arrays[3][..., :3]), 'x')['predictions'][0]['mask']
    np.testing.assert_array_equal(a, b)


def test_list_of_dicts_and_datasamples(inferencer, images, tmp_path):
    result = inferencer([dict(img=images['color'], text=['one', 'two']),
                         dict(img=images['gray'], text='three')], return_datasamples=True)
    samples = result['predictions']
    assert len(samples) == 3 and 'seg_logits' in samples[0]
    assert samples[2].pred_sem_seg.data.shape == (1, 50, 40)


def test_same_file_name_in_two_folders(inferencer, images, tmp_path):
    other = tmp_path / 'other'
    other.mkdir()
    copy = other / 'color.png'
    copy.write_bytes(open(images['color'], 'rb').read())
    inferencer([images['color'], str(copy)], 'the dog', out_dir=str(tmp_path / 'out'))
    assert sorted(os.listdir(tmp_path / 'out' / 'vis')) == ['color_1_sent0.png',
                                                            'color_sent0.png']


def test_long_sentence_is_cut_with_a_warning(inferencer, images):
    text = ' '.join(['the tall man in the blue shirt standing next to the red car'] * 2)
    with pytest.warns(UserWarning, match=r'takes 17: it was cut'):
        pred = inferencer(images['color'], text)['predictions'][0]
    assert pred['truncated'] is True and pred['num_tokens'] > 17


@pytest.mark.parametrize('texts, error, match', [
    ('', ValueError, 'sentence 0 of image 0 .* is empty'),
    ('   ', ValueError, 'is empty'),
    (['ok', ''], ValueError, 'sentence 1 of image 0'),
    ([], ValueError, 'no sentence given'),
    (None, ValueError, 'give a sentence'),
    ([3], TypeError, 'expected a str, got int'),
])
def test_bad_sentences(inferencer, images, texts, error, match):
    with pytest.raises(error, match=match):
        inferencer(images['color'], texts)


def test_bad_images(inferencer, images, tmp_path):
    missing = str(tmp_path / 'nope.jpg')
    with pytest.raises(FileNotFoundError, match='no such image file: .*nope.jpg'):
        inferencer(missing, 'the dog')
    for key in ('corrupt', 'empty'):
        with pytest.raises(ValueError, match=f'cannot read .*{key}.* as an image'):
            inferencer(images[key], 'the dog')
    with pytest.raises(ValueError, match=r'got shape \(4, 5, 2\)'):
        inferencer(np.zeros((4, 5, 2), np.uint8), 'the dog')
    with pytest.raises(ValueError, match='0..255'):
        inferencer(np.full((4, 5, 3), 300.0), 'the dog')
    with pytest.raises(TypeError, match='got int'):
        inferencer([3], ['the dog'])
    with pytest.raises(ValueError, match='2 images but 1 sentences'):
        inferencer([images['color'], images['gray']], ['the dog'])
    with pytest.raises(ValueError, match='no images'):
        inferencer([], [])
    # float arrays in 0..255 are accepted (rounded)
    assert load_ris_image(np.full((4, 5, 3), 7.0)).dtype == np.uint8
    assert load_ris_image(np.full((4, 5, 3), 7.6, np.float32))[0, 0, 0] == 8
    assert load_ris_image(np.zeros((4, 5, 3), np.float64)).max() == 0
    assert load_ris_image(np.full((4, 5, 3), 200, np.int32))[0, 0, 0] == 200


def test_float_images_in_0_1_are_refused(inferencer):
    img = np.random.default_rng(0).random((8, 9, 3))
    with pytest.raises(ValueError, match=r'image 0 \(array00000\).*looks like a 0..1 image.*'
                       r'\* 255'):
        inferencer(img, 'the dog')
    with pytest.raises(ValueError, match='NaN or infinite'):
        load_ris_image(np.full((4, 5, 3), np.nan))
    with pytest.raises(TypeError, match='dtype bool'):
        load_ris_image(np.ones((4, 5, 3), bool))
    assert load_ris_image((img * 255).round().astype(np.uint8)).shape == (8, 9, 3)


@pytest.mark.parametrize('texts, match', [
    (5, r'texts: expected a str or a list of str, got int 5'),
    (b'the dog', r'texts: expected a str .* got bytes'),
    (['ok', 3], r'texts\[1\]: expected a str, got int 3'),
    ([['ok', None]], r'texts\[0\]\[1\]: expected a str, got NoneType'),
])
def test_non_string_sentences(inferencer, images, texts, match):
    inputs = images['color'] if not isinstance(texts, list) or len(texts) != 1 \
        else [images['color']]
    with pytest.raises(TypeError, match=match):
        inferencer(inputs, texts)


def test_non_string_sentence_in_dict_input(inferencer, images):
    with pytest.raises(TypeError, match=r'sentence 0 of image 0 .*expected a str, got int 5'):
        inferencer([dict(img=images['color'], text=5)])


def test_missing_files_at_build(tiny_checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match='no such checkpoint file'):
        RISInferencer(TINY_CONFIG, weights=str(tmp_path / 'x.pth'), device='cpu')
    with pytest.raises(FileNotFoundError, match='no such config file'):
        RISInferencer(str(tmp_path / 'x.py'), weights=tiny_checkpoint, device='cpu')


def test_checkpoint_for_another_model(tiny_checkpoint, tmp_path):
    state = torch.load(tiny_checkpoint, map_location='cpu', weights_only=True)['state_dict']
    state['decode_head.extra.weight'] = torch.zeros(3)
    dropped = sorted(state)[0]
    del state[dropped]
    wrong = tmp_path / 'wrong.pth'
    torch.save(state, wrong)
    with pytest.raises(CheckpointMismatchError) as info:
        RISInferencer(TINY_CONFIG, weights=str(wrong), device='cpu')
    msg = str(info.value)
    assert 'cris_tiny_1xb16-10e_toy-128.py' in msg
    assert f'1 model keys missing from the checkpoint: {dropped}' in msg
    assert 'decode_head.extra.weight' in msg

    # a config with other widths: the shapes are named
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.decode_head.feedforward_channels = 128
    with pytest.raises(CheckpointMismatchError, match=r'keys with other shapes: .*\(256'):
        RISInferencer(cfg, weights=tiny_checkpoint, device='cpu')
    with pytest.warns(UserWarning, match='strict=False'):
        RISInferencer(cfg, weights=tiny_checkpoint, device='cpu', strict=False)


def test_model_name_from_the_index(tiny_checkpoint, images):
    names = RISInferencer.list_models()
    assert 'cris_tiny_1xb16-10e_toy-128' in names and 'cris-r50-refcoco' in names
    inf = RISInferencer('cris-tiny-toy', weights=tiny_checkpoint, device='cpu')
    assert osp.basename(inf.cfg.filename) == 'cris_tiny_1xb16-bf16-11e_toy-128x96.py'
    check_prediction(inf(images['color'], 'the dog')['predictions'][0], (60, 80))
    with pytest.raises(ValueError, match='Did you mean cris-tiny-toy'):
        RISInferencer('cris-tiny-tyo', weights=tiny_checkpoint, device='cpu')


def test_fuse_conv_bn_keeps_predictions(tmp_path, images):
    """fuse_conv_bn=True folds every BatchNorm into its convolution: same masks and scores
    (BN statistics made non-trivial so that the fold changes the weights)."""
    from mmris.registry import MODELS
    torch.manual_seed(1)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns
    with torch.no_grad():
        for m in bns:
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
    ckpt = str(tmp_path / 'bn.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    kwargs = dict(weights=ckpt, device='cpu', show_progress=False)
    plain = RISInferencer(TINY_CONFIG, **kwargs)
    fused = RISInferencer(TINY_CONFIG, fuse_conv_bn=True, **kwargs)
    left = [n for n, m in fused.model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert left == ['neck.f5_norm.0']  # the one BN that follows no convolution (CRIS's F5 x text)
    texts = ['the red ball', 'a small square on the left']
    for a, b in zip(plain(images['color'], texts)['predictions'],
                    fused(images['color'], texts)['predictions']):
        assert np.mean(a['mask'] != b['mask']) < 1e-3
        assert a['score'] == pytest.approx(b['score'], abs=1e-5)
