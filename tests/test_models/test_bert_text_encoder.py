"""BERTTextEncoder: a tiny random BERT and a vocabulary written here, loaded from a dir."""
import pytest
import torch

from mmris.registry import MODELS
from mmris.utils import register_all_modules

transformers = pytest.importorskip('transformers')
register_all_modules()

WORDS = ['man', 'left', 'the', 'red', 'car', 'on', 'woman', 'blue', 'shirt', 'big', '##s']
VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + WORDS


def write_tiny_bert(root, save_tokenizer: bool = False, hidden_size: int = 32,
                    num_layers: int = 2) -> str:
    """Save a tiny random BERT (2 layers, 32 wide by default) and its ``vocab.txt`` to
    ``root`` (no network); with ``save_tokenizer`` also ``tokenizer.json``."""
    vocab = root / 'vocab.txt'
    vocab.write_text('\n'.join(VOCAB) + '\n')
    config = transformers.BertConfig(
        vocab_size=len(VOCAB), hidden_size=hidden_size, num_hidden_layers=num_layers,
        num_attention_heads=2, intermediate_size=2 * hidden_size, max_position_embeddings=32)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(root))
    if save_tokenizer:
        transformers.BertTokenizerFast(str(vocab)).save_pretrained(str(root))
    return str(root)


@pytest.fixture(scope='module')
def bert_dir(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp('tiny_bert'))


def test_bert_encoder_matches_hf(bert_dir):
    enc = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir, word_len=8))
    enc.init_weights()
    enc.eval()
    texts = ['the man on the left', 'red cars']
    feats = enc(texts)
    assert feats.words.shape == (2, 8, 32) and feats.sentence.shape == (2, 32)
    # [CLS] the man on the left [SEP] [PAD]; [CLS] red car ##s [SEP] [PAD] x3
    assert feats.mask.tolist()[0] == [False] * 7 + [True]
    assert feats.mask.tolist()[1] == [False] * 5 + [True] * 3
    assert feats.tokens[1, :5].tolist() == [2, VOCAB.index('red'), VOCAB.index('car'),
                                            VOCAB.index('##s'), 3]
    ref = transformers.BertModel.from_pretrained(bert_dir, add_pooling_layer=False).eval()
    with torch.no_grad():
        out = ref(feats.tokens, attention_mask=(~feats.mask).long()).last_hidden_state
    valid = ~feats.mask
    torch.testing.assert_close(feats.words[valid], out[valid], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(feats.sentence, out[:, 0])


def test_bert_stagewise_and_truncation(bert_dir):
    enc = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir, word_len=5,
                            sentence='mean'))
    enc.init_weights()
    enc.eval()
    tokens, attn = enc.tokenize(['the big red car on the left'])
    assert tokens.shape == (1, 5) and tokens[0, -1].item() == 3  # [SEP] kept when cut
    h = enc.embed(tokens)
    staged = enc.forward_layers(enc.forward_layers(h, attn, 0, 1), attn, 1, 2)
    full = enc((tokens, attn))
    torch.testing.assert_close(staged, full.words)
    torch.testing.assert_close(full.sentence, full.words.mean(1))
    assert enc.num_layers == 2 and enc.width == 32


def test_bert_tokenizer_json_dir(tmp_path):
    enc = MODELS.build(dict(type='BERTTextEncoder', word_len=6,
                            pretrained=write_tiny_bert(tmp_path, save_tokenizer=True)))
    tokens, attn = enc.tokenize(['red cars'])
    assert tokens[0].tolist() == [2, VOCAB.index('red'), VOCAB.index('car'),
                                  VOCAB.index('##s'), 3, 0]
    assert attn[0].tolist() == [1, 1, 1, 1, 1, 0]


def test_bert_random_init_and_missing_dir(bert_dir, tmp_path):
    enc = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir, load_weights=False))
    w0 = enc.bert.embeddings.word_embeddings.weight.clone()
    enc.init_weights()
    assert torch.equal(w0, enc.bert.embeddings.word_embeddings.weight)
    with pytest.raises(FileNotFoundError):
        MODELS.build(dict(type='BERTTextEncoder', pretrained=str(tmp_path / 'nope')))


LONG = ['the big red car on the left , the woman in the blue shirt on the right',
        'man on the left', 'blue shirts on the big man on the left of the red cars']


def _authors_rule(bert_dir, text, word_len):
    """LAVT's / MagNet's data/dataset_refer_bert.py, written out on the slow (Python)
    tokenizer they use: encode with [CLS] / [SEP], keep the first word_len ids, pad with 0."""
    tok = transformers.BertTokenizer(f'{bert_dir}/vocab.txt')
    ids = tok.encode(text, add_special_tokens=True)[:word_len]
    return ids + [0] * (word_len - len(ids)), [1] * len(ids) + [0] * (word_len - len(ids))


def test_truncation_head_is_the_authors_rule(bert_dir):
    enc = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir, word_len=8,
                            truncation='head'))
    tokens, attn = enc.tokenize(LONG)
    for i, text in enumerate(LONG):
        ids, mask = _authors_rule(bert_dir, text, 8)
        assert tokens[i].tolist() == ids and attn[i].tolist() == mask
    v = VOCAB.index
    # written out: [CLS] the big red car on the left ... -> 8 ids, no [SEP]
    assert tokens[0].tolist() == [2, v('the'), v('big'), v('red'), v('car'), v('on'), v('the'),
                                  v('left')]
    assert tokens[1].tolist() == [2, v('man'), v('on'), v('the'), v('left'), 3, 0, 0]
    # 'keep_sep' (Hugging Face's truncation=True): 7 ids and [SEP]
    keep = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir, word_len=8))
    k_tokens, k_attn = keep.tokenize(LONG)
    assert k_tokens[0].tolist() == tokens[0, :7].tolist() + [3]
    hf = keep.tokenizer(LONG, padding='max_length', truncation=True, max_length=8)
    assert k_tokens.tolist() == hf['input_ids'] and k_attn.tolist() == hf['attention_mask']
    with pytest.raises(ValueError, match='truncation'):
        MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir, truncation='tail'))


def test_truncation_is_counted(bert_dir):
    enc = MODELS.build(dict(type='BERTTextEncoder', pretrained=bert_dir, word_len=8))
    needed = enc.count_tokens(LONG)
    assert needed[1] == 6 and needed[0] > needed[2] > 8
    enc.eval()
    enc.tokenize(LONG)
    enc.train()
    enc.tokenize(LONG[1:])
    c = enc.truncation_stats.counts
    assert c['eval'] == dict(seen=3, cut=2, longest=needed[0], longest_text=LONG[0])
    assert c['train'] == dict(seen=2, cut=1, longest=needed[2], longest_text=LONG[2])
    enc.truncation_stats.reset()
    assert enc.truncation_stats.counts['eval']['seen'] == 0
