"""The embedded tokenizer: byte-level BPE whose pre-tokenizer splits every digit and keeps words whole.

Pre-tokens are ` ?digit`, ` ?word`, ` ?punctuation` and whitespace runs, so a token never spans a number and a
word, two digits, or a word and punctuation: every token of a reference solution carries exactly one label.
The byte-level alphabet keeps any text encodable (other benchmarks' prompts too), just in more pieces.
"""

from __future__ import annotations

from collections.abc import Iterable

from training.data.render import CHATML_TEMPLATE

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>")
EOS, PAD = "<|im_end|>", "<|pad|>"
SPLIT_PATTERN = r" ?[0-9]| ?[A-Za-z]+| ?[^A-Za-z0-9\s]|\s+"


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A PreTrainedTokenizerFast with ChatML special tokens, chat template and eos `<|im_end|>`."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS, pad_token=PAD, bos_token=None, unk_token=None
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast
