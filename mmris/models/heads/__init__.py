from .coupalign_head import CoupAlignHead
from .cris_head import CRISHead
from .lavt_head import LAVTHead

__all__ = ['CRISHead', 'LAVTHead', 'CoupAlignHead']
