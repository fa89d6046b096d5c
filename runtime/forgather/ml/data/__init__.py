"""Local data for training without a network: text sources, a stdlib corpus, BPE tokenizers,
document packing, chat and instruction data, `datasets.load_dataset` recorded for the run record,
and a causal-LM collator."""

from .collator import DataCollatorForCausalLM
from .hf_datasets import load_dataset
from .chat import ChatDataError, to_messages, tokenize_chat, tokenize_chat_dataset
from .packing import PackedDataset, PackedExamples, tokenize_documents
from .stdlib_corpus import CorpusSplit, stdlib_corpus, stdlib_files, stdlib_root
from .text import DataError, as_documents, list_files, read_documents, read_jsonl, read_text_file
from .tokenizer import load_tokenizer, save_tokenizer, train_bpe_tokenizer

__all__ = [
    "ChatDataError",
    "CorpusSplit",
    "DataCollatorForCausalLM",
    "DataError",
    "PackedDataset",
    "PackedExamples",
    "as_documents",
    "list_files",
    "load_dataset",
    "load_tokenizer",
    "read_documents",
    "read_jsonl",
    "read_text_file",
    "save_tokenizer",
    "stdlib_corpus",
    "stdlib_files",
    "stdlib_root",
    "to_messages",
    "tokenize_chat",
    "tokenize_chat_dataset",
    "tokenize_documents",
    "train_bpe_tokenizer",
]
