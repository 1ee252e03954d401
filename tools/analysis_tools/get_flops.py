"""FLOPs and parameters of a referring segmentor on one image with its sentence.

Example:
    python tools/analysis_tools/get_flops.py configs/cris/cris_r50_8xb8-50e_refcoco-416.py
"""
import argparse

import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, DictAction

from mmris.registry import MODELS
from mmris.utils import register_all_modules
from mmris.utils.bench_data import SENTENCES, synthetic_batch


class _WithText(nn.Module):
    """Feeds fixed data samples (the sentence) next to the image tensor."""

    def __init__(self, model: nn.Module, data_samples: list) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs, self.data_samples, mode='tensor')


def main() -> None:
    parser = argparse.ArgumentParser(description='FLOPs of a referring segmentor')
    parser.add_argument('config')
    parser.add_argument('--sentence', default=SENTENCES[0])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model).eval()
    size = tuple(cfg.model.data_preprocessor['size'])[::-1]
    data = model.data_preprocessor(synthetic_batch(1, size), False)
    data['data_samples'][0].set_metainfo(dict(text=args.sentence))
    with torch.no_grad():
        info = get_model_complexity_info(
            _WithText(model, data['data_samples']), inputs=(data['inputs'], ),
            show_table=False, show_arch=False)
    h, w = size
    print(f'Input: {h}x{w} image + "{args.sentence}"\n'
          f'FLOPs: {info["flops_str"]}\nParams: {info["params_str"]}\n'
          'FLOPs are counted by mmengine\'s analyzer; operators it does not know '
          '(e.g. fused attention) may be left out: treat the figure as a lower bound.')


if __name__ == '__main__':
    main()
