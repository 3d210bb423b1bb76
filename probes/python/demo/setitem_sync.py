import torch, warnings
torch.cuda.init()
x = torch.zeros(4, 8, device="cuda"); v = torch.zeros(16, device="cuda")
cases = {
    "v[3] = 1.5": lambda: v.__setitem__(3, 1.5),
    "x[:, 0] = 2.0": lambda: x.__setitem__((slice(None), 0), 2.0),
    "x[1:3] = 1.0": lambda: x.__setitem__(slice(1, 3), 1.0),
    "v[i] = t (0-d cuda)": lambda: v.__setitem__(2, torch.tensor(3.0, device="cuda")),
    "x.fill_(1.0)": lambda: x.fill_(1.0),
    "x.new_full((4,), 2.0)": lambda: x.new_full((4,), 2.0),
    "x.new_tensor([1., 2.])": lambda: x.new_tensor([1.0, 2.0]),
    "torch.tensor([1.], device=cuda)": lambda: torch.tensor([1.0], device="cuda"),
    "x * 2.5": lambda: x * 2.5,
    "x[torch.arange(2)]": lambda: x[torch.arange(2)],
    "x[[0, 1]]": lambda: x[[0, 1]],
    "x[0]": lambda: x[0],
    "x.to(torch.device('cuda'))": lambda: x.to(torch.device("cuda")),
}
torch.cuda.synchronize()
torch.cuda.set_sync_debug_mode("warn")
print(f"{'case':40} syncs")
for name, fn in cases.items():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn()
    n = sum("synchroniz" in str(m.message) for m in w)
    print(f"{name:40} {n}")
torch.cuda.set_sync_debug_mode("default")
print(torch.__version__, torch.cuda.get_device_name())
