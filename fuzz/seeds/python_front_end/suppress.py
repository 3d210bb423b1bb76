import torch  # noqa: F401
# d2h: ignore-file[D2H005] logging is fine here


class Net(torch.nn.Module):
    @torch.no_grad()
    def forward(self, x: torch.Tensor, debug=False):
        y = self.model(x)
        # d2h: ignore[D2H001] exported once
        host = y.detach().cpu().numpy()
        if debug:
            print(f"{y.sum().item():.3f}")  # d2h: ignore[D2H002]
        for i in range(int(y.max())):  # noqa: D2H002
            mask = y[y > 0]
        return host, mask.nonzero()
