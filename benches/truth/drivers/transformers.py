"""transformers: detection and segmentation models built from small random configs (no hub
downloads), each frame a preprocess of device images by the model's image processor, a forward
pass and the processor's `post_process_*`: DETR (object detection, semantic/instance/panoptic
segmentation), Conditional DETR, OWL-ViT, Grounding DINO, Mask2Former, SAM."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import d2h_probe  # noqa: E402

PACKAGE = "transformers"
SIZE = 128


def _resnet(out_features):
    from transformers import ResNetConfig

    return ResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1], out_features=out_features)


def _images(dev, g, n=1):
    import torch

    return [(torch.rand(3, SIZE, SIZE + 32, device=dev, generator=g) * 255).to(torch.uint8) for _ in range(n)]


def _loop(ctx, processor, model, post, inputs_extra=None):
    """The frame loop common to the detectors: preprocess, forward, post-process."""
    import torch

    dev = ctx.device
    g = torch.Generator(device=dev).manual_seed(0)
    with torch.no_grad():
        for _ in range(ctx.frames):
            with d2h_probe.frame():
                images = _images(dev, g)
                inputs = processor(images=images, return_tensors="pt", device=dev).to(dev)
                outputs = model(**inputs, **(inputs_extra or {}))
                post(outputs, [img.shape[-2:] for img in images])


def detr(ctx):
    from transformers import DetrConfig, DetrForSegmentation, DetrImageProcessor

    config = DetrConfig(backbone_config=_resnet(["stage1", "stage2", "stage3", "stage4"]), d_model=64, encoder_layers=1, decoder_layers=1,
                        encoder_ffn_dim=64, decoder_ffn_dim=64, num_queries=20, num_labels=5)
    model = DetrForSegmentation(config).to(ctx.device).eval()
    processor = DetrImageProcessor(size={"shortest_edge": SIZE, "longest_edge": SIZE * 2})

    def post(outputs, sizes):
        processor.post_process_object_detection(outputs, threshold=0.05, target_sizes=sizes)
        processor.post_process_semantic_segmentation(outputs, target_sizes=sizes)
        processor.post_process_instance_segmentation(outputs, threshold=0.05, target_sizes=sizes)
        processor.post_process_panoptic_segmentation(outputs, threshold=0.05, target_sizes=sizes)

    _loop(ctx, processor, model, post)


def conditional_detr(ctx):
    from transformers import ConditionalDetrConfig, ConditionalDetrForObjectDetection, ConditionalDetrImageProcessor

    config = ConditionalDetrConfig(backbone_config=_resnet(["stage4"]), d_model=64, encoder_layers=1, decoder_layers=1,
                                   encoder_ffn_dim=64, decoder_ffn_dim=64, num_queries=20, num_labels=5)
    model = ConditionalDetrForObjectDetection(config).to(ctx.device).eval()
    processor = ConditionalDetrImageProcessor(size={"shortest_edge": SIZE, "longest_edge": SIZE * 2})
    _loop(ctx, processor, model, lambda outputs, sizes: processor.post_process_object_detection(outputs, threshold=0.05, target_sizes=sizes))


def owlvit(ctx):
    import torch
    from transformers import OwlViTConfig, OwlViTForObjectDetection, OwlViTImageProcessor

    config = OwlViTConfig(
        text_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=100, max_position_embeddings=16),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=64, patch_size=16),
        projection_dim=32,
    )
    model = OwlViTForObjectDetection(config).to(ctx.device).eval()
    processor = OwlViTImageProcessor(size={"height": 64, "width": 64}, crop_size={"height": 64, "width": 64})
    input_ids = torch.randint(1, 99, (2, 16), device=ctx.device)
    attention_mask = torch.ones_like(input_ids)

    def post(outputs, sizes):
        processor.post_process_object_detection(outputs, threshold=0.05, target_sizes=sizes)

    _loop(ctx, processor, model, post, dict(input_ids=input_ids, attention_mask=attention_mask))


def grounding_dino(ctx):
    import torch
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection, GroundingDinoImageProcessor, SwinConfig

    config = GroundingDinoConfig(
        backbone_config=SwinConfig(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4, out_indices=[2, 3, 4]),
        text_config=dict(model_type="bert", hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, vocab_size=100),
        d_model=32, encoder_layers=1, decoder_layers=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_queries=20,
        encoder_attention_heads=2, decoder_attention_heads=2, num_feature_levels=3, encoder_n_points=2, decoder_n_points=2, max_text_len=16,
    )
    model = GroundingDinoForObjectDetection(config).to(ctx.device).eval()
    processor = GroundingDinoImageProcessor(size={"shortest_edge": SIZE, "longest_edge": SIZE * 2})
    input_ids = torch.tensor([[101, 5, 6, 7, 1012, 8, 9, 1012, 102]], device=ctx.device) % 100
    extra = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), token_type_ids=torch.zeros_like(input_ids))
    _loop(ctx, processor, model, lambda outputs, sizes: processor.post_process_object_detection(outputs, threshold=0.05, target_sizes=sizes), extra)


def mask2former(ctx):
    from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, Mask2FormerImageProcessor, SwinConfig

    config = Mask2FormerConfig(
        backbone_config=SwinConfig(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4, out_features=["stage1", "stage2", "stage3", "stage4"]),
        hidden_dim=32, mask_feature_size=32, feature_size=32, encoder_feedforward_dim=64, dim_feedforward=64, encoder_layers=1, decoder_layers=2,
        num_attention_heads=2, num_queries=10, num_labels=5,
    )
    model = Mask2FormerForUniversalSegmentation(config).to(ctx.device).eval()
    processor = Mask2FormerImageProcessor(size={"shortest_edge": SIZE, "longest_edge": SIZE * 2})

    def post(outputs, sizes):
        processor.post_process_semantic_segmentation(outputs, target_sizes=sizes)
        processor.post_process_instance_segmentation(outputs, threshold=0.05, target_sizes=sizes)
        processor.post_process_panoptic_segmentation(outputs, threshold=0.05, target_sizes=sizes)

    _loop(ctx, processor, model, post)


def sam(ctx):
    import torch
    from transformers import SamConfig, SamImageProcessor, SamModel

    config = SamConfig(
        vision_config=dict(hidden_size=32, output_channels=32, num_hidden_layers=2, num_attention_heads=2, image_size=128, patch_size=16,
                           mlp_dim=64, global_attn_indexes=[1], window_size=4, num_pos_feats=16),
        prompt_encoder_config=dict(hidden_size=32, image_size=128, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, mlp_dim=64, iou_head_hidden_dim=32),
    )
    model = SamModel(config).to(ctx.device).eval()
    processor = SamImageProcessor(size={"longest_edge": 128}, pad_size={"height": 128, "width": 128}, mask_size={"longest_edge": 32}, mask_pad_size={"height": 32, "width": 32})
    dev = ctx.device
    g = torch.Generator(device=dev).manual_seed(0)
    with torch.no_grad():
        for i in range(ctx.frames):
            with d2h_probe.frame():
                images = _images(dev, g)
                inputs = processor(images=images, return_tensors="pt", device=dev)
                points = torch.rand(1, 1, 2, 2, device=dev, generator=g) * 100
                outputs = model(pixel_values=inputs["pixel_values"].to(dev), input_points=points)
                processor.post_process_masks(outputs.pred_masks, inputs["original_sizes"], inputs["reshaped_input_sizes"])


if __name__ == "__main__":
    sys.exit(harness.main(PACKAGE, [detr, conditional_detr, owlvit, grounding_dino, mask2former, sam]))
