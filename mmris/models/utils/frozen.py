"""A module option ``frozen``: a part of the module (or all of it) without gradients."""
import torch
import torch.nn as nn

__all__ = ['FrozenMixin']


class FrozenMixin:
    """``frozen``: the ``frozen_part`` (a submodule name; '' = the whole module) gets no
    gradients, is kept in eval mode and runs under :meth:`frozen_grad` (``torch.no_grad``).
    The class sets ``self.frozen`` and calls :meth:`_freeze` once the part is built."""

    frozen_part = ''

    def _freeze(self) -> None:
        if self.frozen:
            self.get_submodule(self.frozen_part).requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        nn.Module.train(self.get_submodule(self.frozen_part), mode and not self.frozen)
        return self

    def frozen_grad(self):
        """The grad mode to run the frozen part in: off when ``frozen``, else as is."""
        return torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen)
