from .ris_visualizer import RISLocalVisualizer

__all__ = ['RISLocalVisualizer']
