# Any importable torch.nn.Module (or factory returning one) can be built by
# its dotted path with keyword arguments; e.g. with torchvision installed:
#   model = dict(type='torchvision.models.resnet18', num_classes=10)
# This example uses a class from torch itself.
model = dict(
    type='torch.nn.Conv2d',
    in_channels=3,
    out_channels=16,
    kernel_size=3,
    padding=1)
