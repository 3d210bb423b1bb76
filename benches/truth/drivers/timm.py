"""timm: a training step with its loss, mixup/cutmix, EMA, optimizer, scheduler and gradient
clipping helpers (one step a frame), then evaluation with its accuracy helpers (per epoch);
and an inference loop over a second architecture. Random weights, random data."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import d2h_probe  # noqa: E402

PACKAGE = "timm"
CLASSES = 10


def train(ctx):
    import torch
    import timm
    from timm.data import Mixup
    from timm.loss import BinaryCrossEntropy, LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2
    from timm.utils import AverageMeter, ModelEmaV3, NativeScaler, accuracy, dispatch_clip_grad

    dev = ctx.device
    model = timm.create_model("resnet18", pretrained=False, num_classes=CLASSES).to(dev)
    ema = ModelEmaV3(model, decay=0.99, device=dev)
    mixup = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5, label_smoothing=0.1, num_classes=CLASSES)
    train_loss = SoftTargetCrossEntropy()
    bce = BinaryCrossEntropy(smoothing=0.1)
    eval_loss = LabelSmoothingCrossEntropy(smoothing=0.1)
    optimizer = create_optimizer_v2(model, opt="adamw", lr=1e-3, weight_decay=0.05)
    scheduler, _ = create_scheduler_v2(optimizer, sched="cosine", num_epochs=ctx.epochs, warmup_epochs=1, step_on_epochs=False, updates_per_epoch=ctx.frames)
    scaler = NativeScaler(device=dev.type) if dev.type == "cuda" else None
    losses, top1 = AverageMeter(), AverageMeter()
    step = 0
    for epoch in range(ctx.epochs):
        model.train()
        for _ in range(ctx.frames // ctx.epochs):
            with d2h_probe.frame():
                images = torch.randn(8, 3, 64, 64, device=dev)
                target = torch.randint(0, CLASSES, (8,), device=dev)
                images, soft = mixup(images, target)
                with torch.autocast(dev.type, dtype=torch.bfloat16):
                    output = model(images)
                    loss = train_loss(output, soft) + 0.1 * bce(output, target)
                optimizer.zero_grad()
                if scaler is not None:
                    scaler(loss, optimizer, clip_grad=1.0, clip_mode="norm", parameters=model.parameters())
                else:
                    loss.backward()
                    dispatch_clip_grad(model.parameters(), 1.0, mode="norm")
                    optimizer.step()
                ema.update(model, step=step)
                step += 1
                scheduler.step_update(num_updates=step)
                losses.update(loss.detach(), images.size(0))
        with d2h_probe.phase("epoch"):
            scheduler.step(epoch + 1)
            for net in (model, ema.module):
                net.eval()
                with torch.no_grad():
                    for _ in range(3):
                        images = torch.randn(16, 3, 64, 64, device=dev)
                        target = torch.randint(0, CLASSES, (16,), device=dev)
                        output = net(images)
                        loss = eval_loss(output, target)
                        acc1, acc5 = accuracy(output, target, topk=(1, 5))
                        top1.update(acc1, images.size(0))
    with d2h_probe.phase("teardown"):
        state = timm.models.clean_state_dict(ema.module.state_dict()) if hasattr(timm.models, "clean_state_dict") else None
        del state


class _Images:
    """A synthetic labelled image set (uint8 CHW tensors, as timm's loaders collate them)."""

    def __init__(self, n):
        import torch

        g = torch.Generator().manual_seed(3)
        self.images = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
        self.labels = torch.randint(0, CLASSES, (n,), generator=g)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


def train_augmix(ctx):
    """The other training path: timm's prefetching loader (normalises and random-erases on the
    device), AugMix-style split batches with the JSD loss, LAMB, adaptive gradient clipping,
    ModelEmaV2, and per epoch a plateau scheduler stepped on the evaluation metric and a
    checkpoint saver."""
    import tempfile

    import torch
    import timm
    from timm.data.loader import PrefetchLoader
    from timm.loss import JsdCrossEntropy
    from timm.optim import create_optimizer_v2
    from timm.scheduler import PlateauLRScheduler
    from timm.utils import AverageMeter, CheckpointSaver, ModelEmaV2, accuracy, dispatch_clip_grad

    dev = ctx.device
    model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=CLASSES, drop_path_rate=0.1).to(dev)
    ema = ModelEmaV2(model, decay=0.99)
    loss_fn = JsdCrossEntropy(num_splits=2, smoothing=0.1)
    optimizer = create_optimizer_v2(model, opt="lamb", lr=1e-3, weight_decay=0.01)
    scheduler = PlateauLRScheduler(optimizer, decay_rate=0.5, patience_t=0, mode="max")
    loader = torch.utils.data.DataLoader(_Images(8 * ctx.frames), batch_size=8, shuffle=True, drop_last=True)
    loader = PrefetchLoader(loader, device=dev, re_prob=0.5, re_mode="pixel", re_count=2, re_num_splits=2)
    eval_loader = PrefetchLoader(torch.utils.data.DataLoader(_Images(32), batch_size=16), device=dev)
    top1 = AverageMeter()
    with tempfile.TemporaryDirectory() as tmp:
        saver = CheckpointSaver(model, optimizer, model_ema=ema, checkpoint_dir=tmp, recovery_dir=tmp, decreasing=False, max_history=1)
        batches = iter(loader)
        for epoch in range(ctx.epochs):
            model.train()
            for _ in range(ctx.frames // ctx.epochs):
                with d2h_probe.frame():
                    images, target = next(batches)
                    output = model(images)
                    loss = loss_fn(output, target[: len(target) // 2].repeat(2))
                    optimizer.zero_grad()
                    loss.backward()
                    dispatch_clip_grad(model.parameters(), 0.01, mode="agc")
                    optimizer.step()
                    ema.update(model)
            with d2h_probe.phase("epoch"):
                model.eval()
                with torch.no_grad():
                    for images, target in eval_loader:
                        acc1, _ = accuracy(ema.module(images), target, topk=(1, 5))
                        top1.update(acc1.item(), images.size(0))
                scheduler.step(epoch + 1, top1.avg)
                saver.save_checkpoint(epoch, metric=top1.avg)
        with d2h_probe.phase("teardown"):
            del saver


def infer(ctx):
    import torch
    import timm
    from timm.data import create_transform, resolve_data_config

    dev = ctx.device
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=CLASSES, img_size=64).to(dev).eval()
    config = resolve_data_config({}, model=model)
    transform = create_transform(**config)
    del transform
    with torch.inference_mode():
        for _ in range(ctx.frames):
            with d2h_probe.frame():
                logits = model(torch.randn(4, 3, 64, 64, device=dev))
                probs, classes = logits.softmax(-1).topk(3)
        with d2h_probe.phase("epoch"):
            features = model.forward_features(torch.randn(2, 3, 64, 64, device=dev))
            model.forward_head(features, pre_logits=True)


if __name__ == "__main__":
    sys.exit(harness.main(PACKAGE, [train, train_augmix, infer]))
