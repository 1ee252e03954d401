"""Visualizer that draws the referred mask and the sentence."""
import os.path as osp
import textwrap
from typing import Any, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from mmris.registry import VISUALIZERS


def ris_file_stem(stem: str, ref_id: Optional[Any] = None, sent_id: Optional[Any] = None) -> str:
    """The file stem of one (image, sentence) drawing: ``<stem>_ref<ref_id>_sent<sent_id>``,
    leaving out the ids that are None.

    Args:
        stem (str): Image file stem (or any name for an in-memory image).
        ref_id (optional): The referred object's id.
        sent_id (optional): The sentence's id.

    Returns:
        str: e.g. ``'COCO_train2014_000000000009_ref12_sent40'``.
    """
    parts = [stem]
    for value, tag in ((ref_id, 'ref'), (sent_id, 'sent')):
        if value is not None:
            parts.append(f'{tag}{value}')
    return '_'.join(parts)


@VISUALIZERS.register_module()
class RISLocalVisualizer(SegLocalVisualizer):
    """Draws the ground-truth and predicted masks side by side, each with the sentence.

    Works with mmseg's ``SegVisualizationHook`` and ``tools/test.py --show-dir``. Files are
    named ``<image stem>_ref<ref_id>_sent<sent_id>`` so that several sentences on one image
    never overwrite each other.

    Args:
        name (str): Name of the instance. Defaults to 'visualizer'.
        vis_backends (list, optional): Visual backends. Defaults to None.
        save_dir (str, optional): Save file dir for all storage backends.
        alpha (float): Opacity of the mask overlay. Defaults to 0.5.
        gt_color (tuple): RGB colour of the ground-truth mask. Defaults to green.
        pred_color (tuple): RGB colour of the predicted mask. Defaults to red.
        font_size (int, optional): Font size of the sentence; scaled to the image when None.
        **kwargs: Passed to :class:`SegLocalVisualizer`.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 vis_backends: Optional[list] = None,
                 save_dir: Optional[str] = None,
                 alpha: float = 0.5,
                 gt_color: Tuple[int, int, int] = (0, 200, 0),
                 pred_color: Tuple[int, int, int] = (255, 40, 40),
                 font_size: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(
            name=name, vis_backends=vis_backends, save_dir=save_dir, alpha=alpha, **kwargs)
        self.gt_color = tuple(gt_color)
        self.pred_color = tuple(pred_color)
        self.font_size = font_size

    @staticmethod
    def sample_name(name: str, data_sample: Optional[SegDataSample]) -> str:
        """``<image stem>_ref<ref_id>_sent<sent_id>``: the stem of ``img_path`` in the
        metainfo (else of ``name``), and the ids the metainfo has."""
        if data_sample is None:
            return name
        meta = data_sample.metainfo
        stem = osp.splitext(osp.basename(meta.get('img_path') or name))[0]
        return ris_file_stem(stem, meta.get('ref_id'), meta.get('sent_id'))

    def draw_referring(self, image: np.ndarray, mask: Optional[np.ndarray],
                       color: Sequence[int], sentence: str, title: str) -> np.ndarray:
        """Overlay ``mask`` on ``image`` (RGB) and write ``title: sentence`` on it."""
        self.set_image(image)
        if mask is not None and mask.any():
            self.draw_binary_masks(mask.astype(bool), colors=[tuple(color)], alphas=self.alpha)
        h, w = image.shape[:2]
        font_size = self.font_size or max(8, min(h, w) // 22)
        text = f'{title}: {sentence}' if sentence else f'{title}: <empty sentence>'
        # wrap to the panel's width (a glyph is about 0.6 font sizes wide)
        text = textwrap.fill(text, width=max(10, int(w / (0.6 * font_size))))
        self.draw_texts(
            text,
            positions=np.array([[4, 4]]),
            colors='white',
            font_sizes=font_size,
            vertical_alignments='top',
            bboxes=dict(facecolor='black', alpha=0.6, pad=2, edgecolor='none'))
        return self.get_image()

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: bool = False) -> None:
        """Draw ``data_sample`` on ``image`` (RGB) and show or save it.

        Args:
            name (str): Image identifier; replaced by the ref/sentence name when the sample
                carries ``ref_id`` / ``sent_id``.
            image (np.ndarray): The image to draw, RGB.
            data_sample (SegDataSample, optional): Sample with ``gt_sem_seg`` and / or
                ``pred_sem_seg`` and the ``text`` in its metainfo.
            draw_gt (bool): Whether to draw the ground truth. Defaults to True.
            draw_pred (bool): Whether to draw the prediction. Defaults to True.
            show (bool): Whether to display the drawn image. Defaults to False.
            wait_time (float): Seconds to wait when showing. Defaults to 0.
            out_file (str, optional): Write the drawing to this file instead of the backends.
            step (int): Global step value to record. Defaults to 0.
            with_labels (bool): Unused; kept for the hook's signature.
        """
        sentence = data_sample.metainfo.get('text', '') if data_sample is not None else ''
        panels = []
        for key, title, color, wanted in (('gt_sem_seg', 'GT', self.gt_color, draw_gt),
                                          ('pred_sem_seg', 'Pred', self.pred_color,
                                           draw_pred)):
            if not wanted or data_sample is None or key not in data_sample:
                continue
            mask = data_sample.get(key).data
            mask = mask.cpu().numpy()[0] if hasattr(mask, 'cpu') else np.asarray(mask)[0]
            if mask.shape != image.shape[:2]:
                mask = mmcv.imresize(mask.astype(np.uint8), image.shape[1::-1],
                                     interpolation='nearest')
            panels.append(self.draw_referring(image, mask == 1, color, sentence, title))
        drawn = np.concatenate(panels, axis=1) if panels else \
            self.draw_referring(image, None, self.pred_color, sentence, 'Image')

        self.set_image(drawn)  # so that get_image() returns the whole drawing
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(self.sample_name(name, data_sample), drawn, step)
