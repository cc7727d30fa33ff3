"""The seq2seq pairs that `anytok preprocess` writes, read with numpy alone (no Megatron), and turned into the
model's encoder inputs, decoder inputs and labels.

A pairs dataset PREFIX is PREFIX_inputs.{idx,bin} and PREFIX_targets.{idx,bin}, aligned document by document, and
PREFIX.json, the sidecar (vocabulary layout, counts, models), whose presence means the run finished. The .idx layout
(apps/indexed_dataset.h), little-endian:

    "MMIDIDX\\0\\0"   9 bytes
    version          u64, 1
    dtype code       u8: 8 = uint16, 4 = int32 (the width of an id in .bin)
    S                u64, sequence count
    D + 1            u64, document index count
    lengths          i32[S]
    pointers         i64[S], byte offsets into .bin
    documents        i64[D + 1]: 0, then the sequence count after each document
    modes            i8[S]: 0 text, 1 image, 2 audio, 3 boxes, 4 keypoints, 5 token

One document is one example, one sequence one segment, holding the segment's ids exactly as `anytok tokenize`
gives them (span markers included). The task of an example is read from its first input sequence, the task token
(mode 5), so a line that preprocess skipped as bad cannot shift tasks against examples.

The model's view of an example (the sequence format of the README):
    encoder input  = the input sequences, concatenated, then eos
    decoder input  = bos, then the target sequences, concatenated
    labels         = the target sequences, concatenated, then eos
"""
import json
import os

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
DTYPES = {8: np.uint16, 4: np.int32}
TASKS = ("caption", "detect", "generate-image", "speak", "transcribe")


class IndexedDataset:
    """One Megatron multimodal indexed dataset (PREFIX.idx + PREFIX.bin), memory-mapped."""

    def __init__(self, prefix):
        with open(prefix + ".idx", "rb") as f:
            head = f.read(34)
        if head[:9] != MAGIC:
            raise ValueError(f"{prefix}.idx: not a Megatron index")
        version = int.from_bytes(head[9:17], "little")
        if version != 1:
            raise ValueError(f"{prefix}.idx: index version {version}, only 1 is known")
        code = head[17]
        if code not in DTYPES:
            raise ValueError(f"{prefix}.idx: unknown dtype code {code}")
        self.dtype = np.dtype(DTYPES[code])
        sequences = int.from_bytes(head[18:26], "little")
        documents = int.from_bytes(head[26:34], "little")
        at = 34
        idx = np.memmap(prefix + ".idx", mode="r", dtype=np.uint8)

        def take(dtype, count):
            nonlocal at
            dtype = np.dtype(dtype)
            out = np.frombuffer(idx, dtype=dtype, count=count, offset=at)
            at += dtype.itemsize * count
            return out

        self.lengths = take("<i4", sequences)
        self.pointers = take("<i8", sequences)
        self.documents = take("<i8", documents)
        self.modes = take("<i1", sequences)
        if at != len(idx):
            raise ValueError(f"{prefix}.idx: {len(idx) - at} bytes after the modes")
        size = os.path.getsize(prefix + ".bin")
        if sequences and int(self.pointers[-1]) + int(self.lengths[-1]) * self.dtype.itemsize != size:
            raise ValueError(f"{prefix}.bin: {size} bytes, the index describes another size")
        self.bin = np.memmap(prefix + ".bin", mode="r", dtype=self.dtype) if size else np.zeros(0, self.dtype)

    def __len__(self):
        return len(self.documents) - 1

    def sequences(self, doc):
        """The sequences of document `doc`: a list of (mode, ids as an int64 array)."""
        out = []
        for s in range(int(self.documents[doc]), int(self.documents[doc + 1])):
            first = int(self.pointers[s]) // self.dtype.itemsize
            out.append((int(self.modes[s]), np.asarray(self.bin[first:first + int(self.lengths[s])], np.int64)))
        return out

    def document_lengths(self):
        """Ids per document (all its sequences together), as an int64 array."""
        per_seq = np.asarray(self.lengths, np.int64)
        ends = np.cumsum(per_seq)
        starts = np.concatenate([[0], ends])
        return starts[np.asarray(self.documents[1:])] - starts[np.asarray(self.documents[:-1])]


def read_sidecar(prefix):
    with open(prefix + ".json", encoding="utf-8") as f:
        return json.load(f)


class Pairs:
    """The examples of one or more pairs datasets made with one vocabulary layout. For example i: task[i] (index
    into TASKS), source_length[i] (encoder input, eos included), target_length[i] (labels, eos included), and
    example(i) → (source ids, target ids without bos or eos)."""

    def __init__(self, prefixes):
        self.parts, self.layout = [], None
        tasks, src_len, tgt_len, where = [], [], [], []
        for prefix in prefixes:
            sidecar = read_sidecar(prefix)
            if sidecar.get("examples_are") != "seq2seq pairs":
                raise ValueError(f"{prefix}.json: not a dataset of seq2seq pairs")
            if self.layout is None:
                self.layout = sidecar["layout"]
            elif sidecar["layout"] != self.layout:
                raise ValueError(f"{prefix}.json: another vocabulary layout than {prefixes[0]}.json")
            inputs, targets = IndexedDataset(prefix + "_inputs"), IndexedDataset(prefix + "_targets")
            if len(inputs) != len(targets):
                raise ValueError(f"{prefix}: {len(inputs)} input documents, {len(targets)} target documents")
            token_task = {self.layout["tokens"][f"<task:{t}>"]: k for k, t in enumerate(TASKS)}
            first_seq = np.asarray(inputs.documents[:-1])
            first_ids = np.asarray(inputs.bin[np.asarray(inputs.pointers)[first_seq] // inputs.dtype.itemsize],
                                   np.int64)
            if not (np.asarray(inputs.modes)[first_seq] == 5).all():
                raise ValueError(f"{prefix}: an example does not start with a task token")
            part = len(self.parts)
            self.parts.append((inputs, targets))
            tasks.append(np.array([token_task[int(i)] for i in first_ids], np.int64))
            src_len.append(inputs.document_lengths() + 1)
            tgt_len.append(targets.document_lengths() + 1)
            where.append(np.stack([np.full(len(inputs), part), np.arange(len(inputs))], 1))
        self.task = np.concatenate(tasks)
        self.source_length = np.concatenate(src_len)
        self.target_length = np.concatenate(tgt_len)
        self.where = np.concatenate(where)
        roles = self.layout["roles"]
        self.pad, self.bos, self.eos = roles["pad"], roles["bos"], roles["eos"]
        self.vocab_size = self.layout["size"]

    def __len__(self):
        return len(self.task)

    def example(self, i):
        part, doc = self.where[i]
        inputs, targets = self.parts[part]
        src = np.concatenate([ids for _, ids in inputs.sequences(doc)] + [np.array([self.eos])])
        tgt = np.concatenate([ids for _, ids in targets.sequences(doc)])
        return src, tgt

    def of_task(self, task):
        return np.flatnonzero(self.task == task)


def collate(pairs, indices, unconditional):
    """Padded tensors for the examples `indices`: (src [B, S], tgt_in [B, T], labels [B, T]); padding is pad_id in
    src and tgt_in and -100 (ignored) in labels. An example whose flag in `unconditional` is true reads the empty
    prompt, eos alone, as its encoder input (the unconditional pass of classifier-free guidance)."""
    import torch
    srcs, tgts = [], []
    for i, empty in zip(indices, unconditional):
        src, tgt = pairs.example(i)
        srcs.append(np.array([pairs.eos]) if empty else src)
        tgts.append(tgt)
    b, s, t = len(srcs), max(len(x) for x in srcs), max(len(y) for y in tgts) + 1
    src = torch.full((b, s), pairs.pad, dtype=torch.long)
    tgt_in = torch.full((b, t), pairs.pad, dtype=torch.long)
    labels = torch.full((b, t), -100, dtype=torch.long)
    for k, (x, y) in enumerate(zip(srcs, tgts)):
        src[k, :len(x)] = torch.from_numpy(x)
        tgt_in[k, 0] = pairs.bos
        tgt_in[k, 1:len(y) + 1] = torch.from_numpy(y)
        labels[k, :len(y)] = torch.from_numpy(y)
        labels[k, len(y)] = pairs.eos
    return src, tgt_in, labels
