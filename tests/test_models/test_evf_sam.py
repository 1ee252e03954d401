"""EVF-SAM / EVF-SAM2 in mmris: the two-view pipeline, the BEiT-3 fusion encoder, the text
prompt reaching SAM's decoder, the frozen parts, and the toy config taking a step."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

pytest.importorskip('torchscale')
pytest.importorskip('segment_anything')
pytest.importorskip('sentencepiece')
pytest.importorskip('sam2')

from mmris.datasets import PackReferInputs  # noqa: E402
from mmris.datasets.toy import TOY_SPM_FILE, generate_toy_refer, write_toy_spm  # noqa: E402
from mmris.datasets.transforms import SAM_MEAN_BGR, ImageView, ResizeLongestSide  # noqa: E402
from mmris.registry import DATASETS, MODELS  # noqa: E402
from mmris.utils import register_all_modules  # noqa: E402

ROOT = osp.join(osp.dirname(__file__), '..', '..')
TOY = osp.join(ROOT, 'configs', 'evf_sam', 'evfsam_toy_1xb16-12e_toy-128.py')
# a SAM-2 Hiera small enough for CPU tests (strides 4, 8, 16 after the scalp)
TINY_HIERA = dict(embed_dim=8, num_heads=1, stages=(1, 1, 2, 1), global_att_blocks=(3, ),
                  window_pos_embed_bkg_spatial_size=(2, 2), window_spec=(4, 4, 4, 2))


@pytest.fixture(scope='module')
def spm(tmp_path_factory) -> str:
    return write_toy_spm(str(tmp_path_factory.mktemp('spm') / TOY_SPM_FILE))


@pytest.fixture(scope='module')
def toy_cfg(spm) -> Config:
    register_all_modules()
    cfg = Config.fromfile(TOY)
    cfg.model.text_encoder.tokenizer = spm
    return cfg


def tiny_sam2_model(cfg: Config) -> dict:
    """The toy EVF-SAM with SAM-2's parts instead of SAM's (64 input, 32 wide)."""
    model = copy.deepcopy(cfg.model)
    model.data_preprocessor.size = (64, 64)
    model.backbone = dict(type='SAM2ImageEncoder', arch=TINY_HIERA, d_model=32)
    model.text_encoder.out_channels = 32
    model.decode_head = dict(type='SAM2MaskHead', embed_dims=32, image_embedding_size=4,
                             input_size=64)
    return model


def sample_batch(model, size: int, texts=('the small red circle', 'the left one'),
                 pad: bool = True) -> dict:
    """Two samples: ori 24 x 32 images resized to ``size`` (longest side) and padded, or
    (``pad=False``) resized to the whole ``size`` x ``size`` input (SAM-2's)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for i, text in enumerate(texts):
        content = (size * 3 // 4 if pad else size, size)
        s = SegDataSample(metainfo=dict(
            text=text, ori_shape=(24, 32), img_shape=(size, size),
            pad_param=np.array([0, size - content[0], 0, 0])))
        gt = torch.zeros(1, 24, 32, dtype=torch.long)
        gt[:, 4:12, 8 * i:8 * i + 10] = 1
        s.gt_sem_seg = PixelData(data=gt)
        s.set_data(dict(img_view=torch.rand(3, 64, 64) * 255))
        samples.append(s)
    inputs = [torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in texts]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


def test_two_view_pipeline():
    from segment_anything.utils.transforms import ResizeLongestSide as SAMResize
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    res = dict(img=img, ori_shape=(30, 40), img_shape=(30, 40), text='the dog', img_path='x')
    res = ResizeLongestSide(long_side=64)(ImageView(scale=(24, 16))(res))
    view = res['img_view']  # the whole image, resized in float (EVF-SAM's BEiT-3 input)
    assert view.shape == (16, 24, 3) and view.dtype == np.float32
    ref = torch.nn.functional.interpolate(
        torch.from_numpy(img).float().permute(2, 0, 1)[None], (16, 24), mode='bicubic',
        align_corners=False)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(view, ref, atol=1e-4)
    # SAM's view: longest side 64 (48 x 64 content, PIL bicubic as SAM), padded at the bottom
    assert res['img'].shape == (64, 64, 3)
    assert list(res['pad_param']) == [0, 16, 0, 0] and res['img_shape'] == (64, 64)
    np.testing.assert_array_equal(res['img'][:48], SAMResize(64).apply_image(img))
    np.testing.assert_array_equal(res['img'][48:], np.round(SAM_MEAN_BGR).astype(np.uint8)
                                  * np.ones((16, 64, 1), np.uint8))
    packed = PackReferInputs()(res)
    assert packed['inputs'].shape == (3, 64, 64)
    assert packed['data_samples'].img_view.shape == (3, 16, 24)


def test_fusion_encoder_shapes_and_padding(toy_cfg):
    torch.manual_seed(0)
    enc = MODELS.build(toy_cfg.model.text_encoder).eval()
    views = torch.rand(2, 3, 64, 64) * 255
    text = enc(['the small red circle on the left', 'the one'], views)
    n = text.tokens.shape[1]
    assert text.tokens.shape == (2, n) and text.words.shape == (2, n, 64)
    assert text.sentence.shape == (2, 64)
    assert text.tokens[0, 0] == 0 and text.mask[1].sum() == n - 4  # <s> the one </s> pad..
    assert not (text.tokens == enc.tokenizer.unk_token_id).any()
    alone = enc(['the one'], views[1:])  # no padding: the same vector
    torch.testing.assert_close(alone.sentence[0], text.sentence[1], atol=1e-5, rtol=1e-5)
    other = enc(['the one'], views[:1])  # another image, another vector (early fusion)
    assert not torch.allclose(other.sentence, alone.sentence)
    with pytest.raises(ValueError, match='64 x 64'):
        enc(['the one'], torch.rand(1, 3, 32, 32))


def test_projection_keeps_the_default_init(toy_cfg):
    """unilm's truncated init (+-0.02) for BEiT-3 only; the projection to the prompt keeps
    PyTorch's default init as the authors' ``text_hidden_fcs`` (bound 1 / sqrt(64) here)."""
    torch.manual_seed(0)
    enc = MODELS.build(dict(toy_cfg.model.text_encoder, init_std=0.02, proj_init_gain=1.))
    beit = [m.weight for m in enc.beit3.modules() if isinstance(m, torch.nn.Linear)]
    assert max(w.abs().max().item() for w in beit) <= 0.02 + 1e-6
    for layer in (enc.proj[0], enc.proj[2]):
        assert 0.05 < layer.weight.abs().max().item() <= 64 ** -0.5 + 1e-6
        assert layer.bias.abs().max().item() > 0.02  # not zeroed
    wide = MODELS.build(dict(toy_cfg.model.text_encoder, init_std=0.1))
    beit = [m.weight for m in wide.beit3.modules() if isinstance(m, torch.nn.Linear)]
    assert 0.05 < max(w.abs().max().item() for w in beit) <= 0.1 + 1e-6


def test_position_init_option(toy_cfg):
    """pos_init_std re-draws both position tables (image, text); None keeps torchscale's
    N(0, 1), which drowns the word embeddings (std 64 ** -0.5) of a model from scratch."""
    torch.manual_seed(0)
    cfg = dict(toy_cfg.model.text_encoder, pretrained=None)
    default = MODELS.build(dict(cfg, pos_init_std=None)).beit3
    small = MODELS.build(dict(cfg, pos_init_std=0.02)).beit3
    for name in ('A', 'B'):
        assert 0.9 < getattr(default.encoder.embed_positions, name).weight.std() < 1.1
        w = getattr(small.encoder.embed_positions, name).weight
        assert 0.01 < w.std() < 0.03 and w.abs().max() <= 0.04 + 1e-6
    assert 0.1 < small.text_embed.weight.std() < 0.15  # the words now dominate


@pytest.mark.parametrize('option, scaled', [('proj_init_gain', 'proj.2.'),
                                             ('view_init_gain', 'beit3.vision_embed.proj.')])
def test_init_gain_options(toy_cfg, option, scaled):
    """proj_init_gain scales the projection's last linear (so the prompt), view_init_gain
    the view's patch embedding, and nothing else; 1 keeps PyTorch's init."""
    cfg = dict(toy_cfg.model.text_encoder, pretrained=None, proj_init_gain=1.,
               view_init_gain=1.)
    encs = []
    for gain in (1., 16.):
        torch.manual_seed(0)
        encs.append(MODELS.build(dict(cfg, **{option: gain})).eval())
    plain, loud = encs
    loud_state = loud.state_dict()
    for name, p in plain.state_dict().items():
        scale = 16. if name.startswith(scaled) else 1.
        torch.testing.assert_close(loud_state[name], p * scale, msg=name)
    if option == 'proj_init_gain':  # the prompt scales exactly
        views = torch.rand(2, 3, 64, 64) * 255
        with torch.no_grad():
            a = plain(['the red circle', 'the big one'], views).sentence
            b = loud(['the red circle', 'the big one'], views).sentence
        torch.testing.assert_close(b, a * 16, rtol=1e-4, atol=1e-4)


def test_missing_view_is_an_error(toy_cfg):
    model = MODELS.build(toy_cfg.model)
    batch = sample_batch(model, 128)
    for s in batch['data_samples']:
        del s.img_view
    with pytest.raises(KeyError, match='ImageView'):
        model(**batch, mode='tensor')


@pytest.mark.parametrize('sam2', [False, True], ids=['sam', 'sam2'])
def test_text_vector_is_the_sparse_prompt(toy_cfg, sam2):
    """The decoder gets the projected first BEiT-3 token as its only sparse prompt."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_sam2_model(toy_cfg) if sam2 else toy_cfg.model).eval()
    batch = sample_batch(model, 64 if sam2 else 128)
    seen = {}
    head = model.decode_head
    if sam2:
        head.mask_decoder.register_forward_pre_hook(
            lambda m, args, kwargs: seen.update(sparse=kwargs['sparse_prompt_embeddings']),
            with_kwargs=True)
    else:  # the batched decode calls the library's two-way transformer with the tokens
        head.mask_decoder.transformer.register_forward_pre_hook(
            lambda m, args: seen.update(sparse=args[2][:, 5:]))
    with torch.no_grad():
        logits = model(**batch, mode='tensor')
        text = model.extract_text(batch['data_samples'])
    assert logits.shape == ((2, 1, 16, 16) if sam2 else (2, 1, 64, 64))
    assert seen['sparse'].shape == (2, 1, text.sentence.shape[1])
    torch.testing.assert_close(seen['sparse'][:, 0], text.sentence)


def test_batched_decoder_is_the_library_decoder(toy_cfg):
    from mmris.models.heads.sam_mask_head import text_prompt
    torch.manual_seed(0)
    head = MODELS.build(toy_cfg.model.decode_head).eval()
    x, sentence = torch.randn(3, 64, 16, 16), torch.randn(3, 64)
    sparse, dense, pe = text_prompt(head.prompt_encoder, sentence)
    for multimask in (False, True):
        head.multimask_output = multimask
        ours = head(x, type('T', (), dict(sentence=sentence)))
        for i in range(3):  # the library, one image at a time
            m, iou = head.mask_decoder(x[i:i + 1], pe, sparse[i:i + 1], dense[i:i + 1],
                                       multimask)
            ref = m.gather(1, iou.argmax(1)[:, None, None, None].expand(-1, 1, 64, 64))
            torch.testing.assert_close(ours[i:i + 1], ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('sam2', [False, True], ids=['sam', 'sam2'])
def test_frozen_parts_get_no_gradient(toy_cfg, sam2):
    cfg = tiny_sam2_model(toy_cfg) if sam2 else copy.deepcopy(toy_cfg.model)
    if not sam2:
        cfg.backbone.frozen = True  # as the full-size config
    cfg.text_encoder.frozen = False  # as the full-size configs (the toy freezes BEiT-3)
    model = MODELS.build(cfg)
    model.train()
    assert not model.backbone.training  # frozen: kept in eval mode
    losses = model(**sample_batch(model, 64 if sam2 else 128, pad=not sam2), mode='loss')
    assert set(losses) == {'decode.loss_bce', 'decode.loss_dice'}
    model.parse_losses(losses)[0].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    for name, g in grads.items():
        frozen = name.startswith('backbone.') or 'iou_prediction_head' in name or (
            'prompt_encoder' in name and 'no_mask_embed' not in name) or (
            sam2 and name.startswith('decode_head.')) or 'pred_obj_score_head' in name
        p = dict(model.named_parameters())[name]
        assert p.requires_grad == (not frozen), name
        if frozen:
            assert g is None, name
    trained = [n for n, g in grads.items() if g is not None and g.abs().sum() > 0]
    assert any(n.startswith('text_encoder.beit3.') for n in trained)
    assert any(n.startswith('text_encoder.proj.') for n in trained)
    assert any(n.startswith('decode_head.mask_decoder.transformer') for n in trained) != sam2


def test_frozen_beit3_option(toy_cfg):
    """``frozen=True`` (the toy's): BEiT-3 gets no gradient and stays in eval mode; the
    projection to the prompt still trains."""
    torch.manual_seed(0)
    enc = MODELS.build(dict(toy_cfg.model.text_encoder, frozen=True, drop_path_rate=0.5))
    enc.train()
    assert enc.training and enc.proj.training and not enc.beit3.training
    views = torch.rand(2, 3, 64, 64) * 255
    out = enc(['the red circle', 'the big one'], views)
    assert not out.words.requires_grad  # no graph through BEiT-3
    out.sentence.sum().backward()
    assert all(p.grad is None and not p.requires_grad for p in enc.beit3.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.proj.parameters())
    with torch.no_grad():  # eval mode: drop path off, the same vector twice
        torch.testing.assert_close(enc(['the red circle'], views[:1]).sentence,
                                   enc(['the red circle'], views[:1]).sentence)


def test_sam2_resizes_logits_in_one_step(toy_cfg):
    """EVF-SAM2's postprocess_masks: low-res logits straight to the original size, in the
    loss and in predict (test_cfg.undo_resize='direct'); a padded input is refused."""
    import torch.nn.functional as F
    from mmris.models.heads.sam_mask_head import bce_dice_losses
    torch.manual_seed(0)
    cfg = tiny_sam2_model(toy_cfg)
    cfg.test_cfg = dict(undo_resize='direct', threshold=0.5)
    model = MODELS.build(cfg).eval()
    batch = sample_batch(model, 64, pad=False)
    with torch.no_grad():
        low = model(**copy.deepcopy(batch), mode='tensor')  # 2, 1, 16, 16
        preds = model(**copy.deepcopy(batch), mode='predict')
        ref = F.interpolate(low, (24, 32), mode='bilinear', align_corners=False)
        for i, p in enumerate(preds):
            torch.testing.assert_close(p.seg_logits.data, ref[i])
        low = torch.randn(2, 1, 20, 20) * 4  # a grid on which the two ways differ
        ref = F.interpolate(low, (24, 32), mode='bilinear', align_corners=False)
        gt = torch.stack([s.gt_sem_seg.data for s in batch['data_samples']]).float()
        bce = F.binary_cross_entropy_with_logits(ref, gt)
        losses = bce_dice_losses(low, batch['data_samples'], 1.0, 0.0, direct=True)
        torch.testing.assert_close(losses['loss_bce'], bce)
        two_step = bce_dice_losses(low, batch['data_samples'], 1.0, 0.0)['loss_bce']
        assert (two_step - bce).abs() > 1e-6  # SAM's way differs
    padded = sample_batch(model, 64)
    with pytest.raises(ValueError, match='undo_resize="direct"'):
        model(**copy.deepcopy(padded), mode='predict')
    with pytest.raises(ValueError, match=r'one-step resize \(direct=True\) needs an unpadded'):
        bce_dice_losses(low, padded['data_samples'], 1.0, 0.0, direct=True)


def test_sam_loss_crops_the_padding(toy_cfg):
    """Training with the annotation at the original size (full configs): the loss sees the
    logits upsampled to the input, the padding cropped, resized to the mask (SAM's
    postprocess_masks), whatever pad_shape mmseg's stack_batch wrote."""
    import torch.nn.functional as F
    from mmris.models.heads.sam_mask_head import bce_dice_losses
    torch.manual_seed(0)
    model = MODELS.build(toy_cfg.model)
    batch = sample_batch(model, 128)  # 96 x 128 content, 32 rows of padding
    assert batch['data_samples'][0].metainfo['pad_shape'] == (24, 32)
    low = torch.randn(2, 1, 64, 64) * 4
    up = F.interpolate(low, (128, 128), mode='bilinear', align_corners=False)[..., :96, :]
    ref = F.interpolate(up, (24, 32), mode='bilinear', align_corners=False)
    gt = torch.stack([s.gt_sem_seg.data for s in batch['data_samples']]).float()
    losses = bce_dice_losses(low, batch['data_samples'], 1.0, 0.0)
    torch.testing.assert_close(losses['loss_bce'], F.binary_cross_entropy_with_logits(ref, gt))


def test_toy_config_trains_and_predicts(toy_cfg, tmp_path):
    """The toy config's pipelines (flip, two views, the masks at the input in training and
    at the original size at test time) and a training step."""
    root = str(tmp_path / 'toy')
    generate_toy_refer(root, seed=0, num_images=dict(train=1, val=1))
    assert osp.isfile(osp.join(root, TOY_SPM_FILE))
    torch.manual_seed(0)
    model = MODELS.build(toy_cfg.model)
    model.init_weights()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = {}
    for phase in ('train', 'val'):
        ds_cfg = copy.deepcopy(toy_cfg[f'{phase}_dataloader'].dataset)
        ds_cfg.data_root = root
        ds = DATASETS.build(ds_cfg)
        batches[phase] = model.data_preprocessor(pseudo_collate([ds[0], ds[1]]),
                                                 phase == 'train')
    train = batches['train']
    assert train['inputs'].shape == (2, 3, 128, 128)
    assert train['data_samples'][0].gt_sem_seg.shape == (128, 128)  # with the image
    assert train['data_samples'][0].img_view.shape == (3, 64, 64)
    before = model.text_encoder.proj[2].weight.clone()
    losses = model(**train, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    optim.step()
    assert not torch.equal(before, model.text_encoder.proj[2].weight)
    model.eval()
    val = batches['val']
    with torch.no_grad():
        preds = model(**val, mode='predict')
    for p in preds:
        ori = tuple(p.metainfo['ori_shape'])
        assert p.pred_sem_seg.shape == ori and p.gt_sem_seg.shape == ori  # original size


def test_inferencer_runs_the_toy_config(toy_cfg, tmp_path):
    """RISInferencer on the toy EVF-SAM: both views come from the config's test pipeline."""
    import cv2

    from mmris.apis import RISInferencer
    torch.manual_seed(0)
    model = MODELS.build(toy_cfg.model)
    ckpt = str(tmp_path / 'evf_toy.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    img = np.random.default_rng(0).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    path = str(tmp_path / 'img.png')
    cv2.imwrite(path, img)
    inferencer = RISInferencer(copy.deepcopy(toy_cfg), weights=ckpt, device='cpu',
                               show_progress=False)
    preds = inferencer([path, img], ['the big red square', 'the left one'],
                       batch_size=2)['predictions']
    assert [p['mask'].shape for p in preds] == [(60, 90), (60, 90)]
    assert preds[0]['num_tokens'] == 6 and not preds[0]['truncated']  # <s> 4 words </s>


@pytest.mark.parametrize('sam2', [False, True])
def test_dedup_images_is_exact_and_runs_the_backbone_once_per_image(toy_cfg, sam2):
    """``dedup_images``: samples repeating the previous sample's image share one backbone
    pass; losses, gradients and predictions equal those without (the toy's trainable ViT)."""
    cfg = tiny_sam2_model(toy_cfg) if sam2 else copy.deepcopy(toy_cfg.model)
    size = 64 if sam2 else 128
    torch.manual_seed(0)
    plain = MODELS.build(cfg)
    shared = MODELS.build({**cfg, 'dedup_images': True})
    shared.load_state_dict(plain.state_dict())
    batch = sample_batch(plain, size, texts=('the red one', 'the left one', 'a circle',
                                             'the blue one'), pad=not sam2)
    imgs = batch['inputs']  # images A, A, B, A: three backbone images, not four
    imgs[1], imgs[3] = imgs[0], imgs[0]
    seen = []
    shared.backbone.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
    results = []
    for model in (plain, shared):
        model.train()
        model.zero_grad()
        loss = model.parse_losses(model(**copy.deepcopy(batch), mode='loss'))[0]
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        model.eval()
        with torch.no_grad():
            preds = model(**copy.deepcopy(batch), mode='predict')
        results.append((loss, grads, [p.seg_logits.data for p in preds]))
    assert seen == [3, 3]  # training and prediction
    (l0, g0, p0), (l1, g1, p1) = results
    torch.testing.assert_close(l1, l0)
    assert g0.keys() == g1.keys() and len(g0) > 0
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], atol=1e-6, rtol=1e-4, msg=name)
    for a, b in zip(p0, p1):
        torch.testing.assert_close(b, a)
