"""diffusers: denoising loops on a tiny random UNet, one scheduler step a frame, for several
schedulers (the loop a pipeline runs, written out as user code does); once a "video" (epoch
phase) the schedule is set before the loop and a tiny VAE decodes after it; and the packaged
DDPM/DDIM pipelines called whole, each call an epoch."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import d2h_probe  # noqa: E402

PACKAGE = "diffusers"


def _unet(dev):
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8,
    ).to(dev).eval()


def _vae(dev):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64), layers_per_block=1, norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32,
    ).to(dev).eval()


def _loop(ctx, scheduler_class, **config):
    import torch

    dev = ctx.device
    unet, vae = _unet(dev), _vae(dev)
    scheduler = scheduler_class(num_train_timesteps=1000, **config)
    g = torch.Generator(device=dev).manual_seed(0)
    with torch.no_grad():
        for video in range(ctx.epochs):
            with d2h_probe.phase("epoch"):  # once a video: the schedule, the starting noise
                scheduler.set_timesteps(ctx.frames, device=dev)
                latents = torch.randn(1, 4, 16, 16, device=dev, generator=g) * scheduler.init_noise_sigma
            for t in scheduler.timesteps:
                with d2h_probe.frame():
                    model_input = scheduler.scale_model_input(latents, t)
                    noise = unet(model_input, t).sample
                    latents = scheduler.step(noise, t, latents, generator=g).prev_sample
            with d2h_probe.phase("epoch"):
                image = vae.decode(latents / vae.config.scaling_factor).sample
                image = (image / 2 + 0.5).clamp(0, 1)


def ddpm(ctx):
    from diffusers import DDPMScheduler

    _loop(ctx, DDPMScheduler)


def ddim(ctx):
    from diffusers import DDIMScheduler

    _loop(ctx, DDIMScheduler)


def euler_ancestral(ctx):
    from diffusers import EulerAncestralDiscreteScheduler

    _loop(ctx, EulerAncestralDiscreteScheduler)


def euler(ctx):
    from diffusers import EulerDiscreteScheduler

    _loop(ctx, EulerDiscreteScheduler)


def dpm_solver(ctx):
    from diffusers import DPMSolverMultistepScheduler

    _loop(ctx, DPMSolverMultistepScheduler, algorithm_type="dpmsolver++", solver_order=2)


def pipelines(ctx):
    """The packaged pipelines, called whole (each call is its own loop of steps: an epoch)."""
    import torch
    from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, UNet2DModel

    dev = ctx.device
    unet = UNet2DModel(
        sample_size=16, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8,
    ).to(dev).eval()
    for pipeline in (DDPMPipeline(unet=unet, scheduler=DDPMScheduler()), DDIMPipeline(unet=unet, scheduler=DDIMScheduler())):
        pipeline.set_progress_bar_config(disable=True)
        for _ in range(ctx.epochs):
            with d2h_probe.phase("epoch"):
                pipeline(batch_size=1, num_inference_steps=ctx.frames, output_type="np", generator=torch.Generator(device=dev).manual_seed(0))


if __name__ == "__main__":
    sys.exit(harness.main(PACKAGE, [ddpm, ddim, euler_ancestral, euler, dpm_solver, pipelines]))
