"""BERT text encoder (Hugging Face ``transformers``, optional) with stage-wise layer access."""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple, Union

from mmengine.logging import print_log
import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmris.registry import MODELS
from ..utils.pretrained import check_pretrained
from ..utils.text_features import TextFeatures
from ..utils.truncation import TruncationStats

TRUNCATIONS = ('keep_sep', 'head')


def _transformers():
    try:
        import transformers
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            'BERTTextEncoder needs the optional dependency `transformers` '
            '(pip install "transformers>=4.30"); or use the CLIP text encoder '
            '(type="CLIPTextEncoder").') from e
    return transformers


def build_bert_tokenizer(model_dir: str):
    """The fast BERT tokenizer of a local directory.

    ``tokenizer.json`` if present; otherwise ``vocab.txt`` (with ``do_lower_case`` from
    ``tokenizer_config.json``, default True), which ``from_pretrained`` of transformers 5
    does not read by itself (every word would become [UNK]).
    """
    tf = _transformers()
    vocab = osp.join(model_dir, 'vocab.txt')
    if osp.isfile(osp.join(model_dir, 'tokenizer.json')) or not osp.isfile(vocab):
        return tf.BertTokenizerFast.from_pretrained(model_dir)
    cfg_file = osp.join(model_dir, 'tokenizer_config.json')
    lower = True
    if osp.isfile(cfg_file):
        with open(cfg_file) as f:
            lower = json.load(f).get('do_lower_case', True)
    return tf.BertTokenizerFast(vocab, do_lower_case=lower)  # 1st argument: the vocab file


def _weights_file(model_dir: str) -> str:
    """The weights file of a Hugging Face directory (the directory if none is known)."""
    for name in ('model.safetensors', 'pytorch_model.bin', 'model.safetensors.index.json',
                 'pytorch_model.bin.index.json'):
        if osp.isfile(osp.join(model_dir, name)):
            return osp.join(model_dir, name)
    return model_dir


def convert_bert(state: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Hugging Face ``BertModel`` keys -> ``BERTTextEncoder.bert`` keys (no pooler/buffers)."""
    return OrderedDict((k, v) for k, v in state.items()
                       if not k.startswith('pooler.') and not k.endswith('_ids'))


@MODELS.register_module()
class BERTTextEncoder(BaseModule):
    """BERT from a local directory (``config.json``, ``vocab.txt``, weights), tokenizing
    raw sentences itself.

    A sentence becomes ``[CLS] wordpieces [SEP]``, cut to ``word_len`` ids by the
    ``truncation`` rule and padded with ``[PAD]``; the padding mask covers the padding only.
    The pooler is not built (LAVT drops it too). Sentences longer than ``word_len`` are
    counted in :attr:`truncation_stats` (logged by ``TextTruncationHook``).

    Stage-wise access, for encoders that interleave BERT layers with image stages (MagNet
    runs 4 stages of 3 layers)::

        tokens, attn = enc.tokenize(texts)
        h = enc.embed(tokens)                        # B, L, 768
        h = enc.forward_layers(h, attn, 0, 3)        # layers 0, 1, 2
        ...
        h = enc.forward_layers(h, attn, 9, 12)

    ``forward(texts)`` is that with all layers.

    Args:
        pretrained (str): Local directory of a Hugging Face BERT (e.g. ``bert-base-uncased``):
            ``config.json``, ``model.safetensors`` or ``pytorch_model.bin``, and
            ``tokenizer.json`` or ``vocab.txt``.
        word_len (int): Tokens per sentence, [CLS] and [SEP] included. LAVT: 20.
            Defaults to 20.
        truncation (str): How a longer sentence is cut. ``'keep_sep'``: the first
            ``word_len - 1`` ids and ``[SEP]`` (Hugging Face's ``truncation=True``);
            ``'head'``: the first ``word_len`` ids, no ``[SEP]`` re-added, as LAVT's and
            MagNet's loaders (``data/dataset_refer_bert.py``: ``encode(...,
            add_special_tokens=True)[:max_tokens]``) feed their released weights.
            Defaults to ``'keep_sep'``.
        sentence (str): Sentence vector: 'cls' (last hidden state of [CLS]) or 'mean'
            (mean of the non-padding tokens). Defaults to 'cls'.
        load_weights (bool): Load the directory's weights in :meth:`init_weights`, all of
            them (see :attr:`NOT_IN_ENCODER`) or a ``PretrainedMismatchError``; False
            keeps a random init (architecture and vocabulary still from the directory).
            Defaults to True.
        run_layers (bool): ``forward`` runs the Transformer layers. False: its words are
            the embeddings and an image encoder interleaving the layers with its stages
            runs them (MagNet's ``SwinFusion(text_stages=...)``). Defaults to True.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """
    #: keys a BERT checkpoint may hold that the encoder does not use (``re.match``): the
    #: pooler, the pre-training heads (MLM / NSP) and the id buffers
    NOT_IN_ENCODER = (r'pooler\.', r'cls\.', r'.*position_ids$', r'.*token_type_ids$')
    #: keys of the encoder a checkpoint may lack: the id buffers (computed)
    NOT_IN_FILE = (r'.*position_ids$', r'.*token_type_ids$')

    def __init__(self,
                 pretrained: str,
                 word_len: int = 20,
                 truncation: str = 'keep_sep',
                 sentence: str = 'cls',
                 load_weights: bool = True,
                 run_layers: bool = True,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        assert sentence in ('cls', 'mean'), f'unknown sentence pooling {sentence}'
        if truncation not in TRUNCATIONS:
            raise ValueError(f'truncation must be one of {TRUNCATIONS}, got "{truncation}"')
        tf = _transformers()
        if not osp.isdir(pretrained):
            raise FileNotFoundError(f'BERT directory not found: {pretrained} (needs '
                                    'config.json, vocab.txt and the weights)')
        self.pretrained = pretrained
        self.word_len = word_len
        self.truncation = truncation
        self.truncation_stats = TruncationStats(word_len)
        self.sentence = sentence
        self.load_weights = load_weights
        self.run_layers = run_layers
        self.tokenizer = build_bert_tokenizer(pretrained)
        config = tf.BertConfig.from_pretrained(pretrained)
        self.bert = tf.BertModel(config, add_pooling_layer=False)

    @property
    def width(self) -> int:
        """Width of the word features (768 for BERT-base)."""
        return self.bert.config.hidden_size

    @property
    def num_layers(self) -> int:
        """Number of Transformer layers."""
        return len(self.bert.encoder.layer)

    def init_weights(self) -> None:
        """Load the directory's BERT weights: every tensor of the encoder must be in the
        file with its shape; the file may hold :attr:`NOT_IN_ENCODER` besides (the pooler
        and the pre-training heads). Otherwise a ``PretrainedMismatchError`` names the file
        and the keys (transformers would only warn that they were "newly initialized")."""
        if not self.load_weights:
            return
        tf = _transformers()
        verbosity = tf.logging.get_verbosity()
        tf.logging.set_verbosity_error()  # its "newly initialized" warning: reported below
        try:
            src, info = tf.BertModel.from_pretrained(
                self.pretrained, add_pooling_layer=False, output_loading_info=True,
                ignore_mismatched_sizes=True)
        finally:
            tf.logging.set_verbosity(verbosity)
        own = self.bert.state_dict()
        shapes = [f'{k}: checkpoint {tuple(a)}, model {tuple(b)}'
                  for k, a, b in info.get('mismatched_keys', ())]
        note = check_pretrained(
            info['missing_keys'], info['unexpected_keys'], _weights_file(self.pretrained),
            'BERT text encoder', len(own), shapes, self.NOT_IN_FILE, self.NOT_IN_ENCODER)
        self.bert.load_state_dict(src.state_dict())
        loaded = len(own) - len(info['missing_keys'])
        print_log(f'BERT text encoder: loaded {loaded} of its {len(own)} tensors from '
                  f'{_weights_file(self.pretrained)}' + (f'; {note}' if note else ''),
                  logger='current')

    def count_tokens(self, texts: Sequence[str]) -> List[int]:
        """Ids each sentence needs, [CLS] and [SEP] included, before any cut; a sentence
        with more than ``word_len`` is cut by :meth:`tokenize`."""
        return [len(ids) for ids in self._encode(texts)]

    def _encode(self, texts: Sequence[str]) -> List[List[int]]:
        return self.tokenizer(list(texts), add_special_tokens=True)['input_ids']

    def tokenize(self, texts: Sequence[str]) -> Tuple[Tensor, Tensor]:
        """Sentences -> token ids and attention mask (1 = token, 0 = padding), B x word_len
        (long), on the encoder's device; cut by the ``truncation`` rule."""
        full = self._encode(texts)
        self.truncation_stats.update(texts, [len(ids) for ids in full], self.training)
        L, sep = self.word_len, self.tokenizer.sep_token_id
        tokens = torch.full((len(full), L), self.tokenizer.pad_token_id, dtype=torch.long)
        attn = torch.zeros(len(full), L, dtype=torch.long)
        for i, ids in enumerate(full):
            if len(ids) > L:
                ids = ids[:L] if self.truncation == 'head' else ids[:L - 1] + [sep]
            tokens[i, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            attn[i, :len(ids)] = 1
        device = self.bert.embeddings.word_embeddings.weight.device
        return tokens.to(device), attn.to(device)

    def embed(self, tokens: Tensor) -> Tensor:
        """B, L token ids -> B, L, width embeddings (word + position + type, LN)."""
        return self.bert.embeddings(input_ids=tokens)

    def layer_mask(self, hidden: Tensor, attention_mask: Tensor):
        """The attention mask in the form the BERT layers take (implementation-specific)."""
        try:
            from transformers.masking_utils import create_bidirectional_mask
        except ImportError:  # transformers 4.x
            return self.bert.get_extended_attention_mask(attention_mask, hidden.shape[:2])
        return create_bidirectional_mask(config=self.bert.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)

    def forward_layers(self, hidden: Tensor, attention_mask: Tensor, start: int,
                       end: int) -> Tensor:
        """Run BERT layers ``start`` .. ``end - 1``.

        Args:
            hidden (Tensor): B, L, width.
            attention_mask (Tensor): B, L, 1 = token, 0 = padding (from :meth:`tokenize`).
            start (int): First layer.
            end (int): One past the last layer.

        Returns:
            Tensor: B, L, width.
        """
        mask = self.layer_mask(hidden, attention_mask)
        for layer in self.bert.encoder.layer[start:end]:
            out = layer(hidden, mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def pool(self, words: Tensor, attention_mask: Tensor) -> Tensor:
        """B, L, width words -> B, width sentence vector (``sentence`` pooling)."""
        if self.sentence == 'cls':
            return words[:, 0]
        m = attention_mask[..., None].to(words.dtype)  # B, L, 1
        return (words * m).sum(1) / m.sum(1).clamp(min=1)

    def forward(self, texts: Union[Sequence[str], Tuple[Tensor, Tensor]]) -> TextFeatures:
        """
        Args:
            texts (Sequence[str] | tuple[Tensor, Tensor]): B sentences, or (token ids,
                attention mask) from :meth:`tokenize`.

        Returns:
            TextFeatures: tokens (B, L), words (B, L, width, last hidden state; the
            embeddings if not ``run_layers``),
            mask (B, L, True = padding), sentence (B, width).
        """
        tokens, attn = texts if isinstance(texts, tuple) and isinstance(texts[0], Tensor) \
            else self.tokenize(texts)
        end = self.num_layers if self.run_layers else 0
        words = self.forward_layers(self.embed(tokens), attn, 0, end)  # B, L, 768
        return TextFeatures(tokens, words, attn == 0, self.pool(words, attn))

