from .cris_head import CRISHead

__all__ = ['CRISHead']
