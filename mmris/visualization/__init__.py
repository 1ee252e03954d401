from .ris_visualizer import RISLocalVisualizer, ris_file_stem

__all__ = ['RISLocalVisualizer', 'ris_file_stem']
