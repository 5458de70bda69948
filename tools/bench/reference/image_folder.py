#!/usr/bin/python3
"""The image pipeline cloze's loader is compared with: torchvision's ImageFolder
over FOLDER/train with MAE's training augmentation (facebookresearch/mae
main_pretrain.py: RandomResizedCrop scale 0.2-1, bicubic, horizontal flip,
ImageNet normalisation) in a DataLoader with --workers worker processes, as
MAE trains. Times --batches batches after --warmup ones, which start the
workers and fill their prefetch queues (2 batches each, against cloze's
loader.prefetch = 4 over its 2 default workers), and prints one JSON line, as
tools/bench/image_pipeline.cpp does.

  /usr/bin/python3 tools/bench/reference/image_folder.py FOLDER [--batch-size 64] [--workers 2]
                   [--batches 20] [--warmup 3] [--size 224]

Runs with Debian's Python (python3-torchvision, which decodes with PIL). Each
worker runs torch with one thread, as DataLoader sets.
"""
import argparse
import json
import time
from pathlib import Path

import torch
from torchvision import datasets, transforms
from torchvision.transforms import InterpolationMode

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def endless(loader):
    """The loader's batches epoch after epoch (its persistent workers stay up between epochs)."""
    while True:
        yield from loader


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="ImageNet layout: FOLDER/train/CLASS/*.JPEG")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=20, help="timed batches")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    parser.add_argument("--size", type=int, default=224, help="side of the crops")
    args = parser.parse_args()
    torch.manual_seed(0)
    augment = transforms.Compose([
        transforms.RandomResizedCrop(args.size, scale=(0.2, 1.0), interpolation=InterpolationMode.BICUBIC),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])
    dataset = datasets.ImageFolder(args.folder / "train", transform=augment)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers, drop_last=True, persistent_workers=True)
    batches = endless(loader)
    for _ in range(args.warmup):
        next(batches)
    start = time.perf_counter()
    for _ in range(args.batches):
        next(batches)
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "torchvision", "images_per_second": args.batches * args.batch_size / seconds,
                      "batches": args.batches, "batch_size": args.batch_size}))


if __name__ == "__main__":
    main()
