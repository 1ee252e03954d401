from .errors import ReferFormatError, ReferSampleError
from .grefer import GReferDataset
from .refer import ReferDataset
from .refer_files import load_instances, load_refs, select_refs
from .samplers import ImageGroupedSampler
from .toy import generate_toy_refer, toy_vocabulary, write_toy_bert
from .transforms import *  # noqa: F401,F403

__all__ = [
    'ReferDataset', 'GReferDataset', 'ImageGroupedSampler', 'ReferFormatError',
    'ReferSampleError', 'load_refs', 'load_instances', 'select_refs', 'generate_toy_refer',
    'toy_vocabulary', 'write_toy_bert',
    'LoadReferAnnotation', 'LetterboxResize', 'RISResize', 'ReferRandomFlip', 'CleanSentence',
    'BlankSentence', 'PackReferInputs'
]
