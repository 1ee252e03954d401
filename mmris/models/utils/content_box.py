"""Where the image content lies in the network input (the letterbox / longest-side padding
undone), for the heads' losses and the segmentors' post-processing."""
from typing import Optional, Sequence, Tuple

__all__ = ['content_box', 'require_unpadded']


def content_box(meta: dict, input_size: Sequence[int]) -> Tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the image content in the network input: ``img_shape`` (the
    resized image with its padding; the input when absent) minus ``pad_param`` (top,
    bottom, left, right; none when absent).

    Args:
        meta (dict): a sample's metainfo.
        input_size (Sequence[int]): the network input (H, W).
    """
    h, w = meta.get('img_shape', input_size)[:2]
    pad = meta.get('pad_param')
    top, bottom, left, right = [int(round(float(p))) for p in pad] \
        if pad is not None else (0, 0, 0, 0)
    return top, h - bottom, left, w - right


def require_unpadded(meta: dict, input_size: Sequence[int], what: str,
                     box: Optional[Tuple[int, int, int, int]] = None) -> None:
    """Raise a ValueError naming the sample unless its content fills the whole input (the
    one-step resize of EVF-SAM2 / SAM-2 assumes it).

    Args:
        meta (dict): a sample's metainfo.
        input_size (Sequence[int]): the network input (H, W).
        what (str): the setting that needs it, named in the message.
        box (tuple, optional): the sample's :func:`content_box` when already computed.
    """
    box = box or content_box(meta, input_size)
    if box != (0, input_size[0], 0, input_size[1]):
        raise ValueError(
            f'{what} needs an unpadded input filling {tuple(input_size)}; '
            f'{meta.get("img_path", "a sample")} has the content box {box} (y0, y1, x0, x1; '
            f'pad_param {list(meta.get("pad_param", ()))}): resize the image to the whole '
            'input, or undo the resize with "bilinear"')
