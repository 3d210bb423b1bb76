"""Which indexing/assignment shapes sync on CUDA (torch sync debug mode = error)."""
import math, sys, torch
dev = "cuda"
torch.manual_seed(0)
t = torch.randn(8, 8, device=dev)
v0 = torch.tensor(2.0, device=dev)
mask = t > 0
host = torch.zeros(8, 8) - 1
idx0 = torch.tensor(3, device=dev)
idxv = torch.tensor([1, 2], device=dev)
lr_cpu = torch.tensor(0.1)
name_val = 5
cases = {
    "t[1] = v0 (device 0-d)": lambda: t.__setitem__(1, v0),
    "t[1, 2] = v0 (device 0-d)": lambda: t.__setitem__((1, 2), v0),
    "t[1] = v0.sum()": lambda: t.__setitem__(1, v0 * 3),
    "t[1] = 2.0 (python)": lambda: t.__setitem__(1, 2.0),
    "t[1, 2] = 2.0 (python)": lambda: t.__setitem__((1, 2), 2.0),
    "t[:, 0] = 2.0 (slice fill)": lambda: t.__setitem__((slice(None), 0), 2.0),
    "t[mask] = 0 (python)": lambda: t.__setitem__(mask, 0),
    "t[mask] = name_val (python name)": lambda: t.__setitem__(mask, name_val),
    "t[mask] = v0 (device 0-d)": lambda: t.__setitem__(mask, v0),
    "t[mask] = t[mask] (gather)": lambda: t.__setitem__(mask, t.clone()[mask]),
    "t[mask] += 1": lambda: t.__setitem__(mask, t.__getitem__(mask) + 1),
    "host[cuda_mask] = 3": lambda: host.__setitem__(mask.clone(), 3),
    "host[cuda_idx0]": lambda: host[idx0],
    "host[cuda_idxv]": lambda: host[idxv],
    "t[cuda_idx0]": lambda: t[idx0],
    "t[cuda_idxv]": lambda: t[idxv],
    "t[mask]": lambda: t[mask],
    "torch.where(mask, t, 0)": lambda: torch.where(mask, t, 0.0),
    "torch.bincount(cuda)": lambda: torch.bincount(idxv),
    "torch.bincount(cuda, minlength=10)": lambda: torch.bincount(idxv, minlength=10),
    "float(lr_cpu)": lambda: float(lr_cpu),
    "lr_cpu.item()": lambda: lr_cpu.item(),
    "lr_cpu.tolist()": lambda: lr_cpu.tolist(),
    "t.is_cuda / is_floating_point()": lambda: (t.is_cuda, t.is_floating_point()),
    "torch.are_deterministic_algorithms_enabled()": lambda: torch.are_deterministic_algorithms_enabled(),
    "torch.save(cuda tensor)": lambda: torch.save(t, "/tmp/x.pt"),
    "torch.save(state_dict of cuda module)": lambda: torch.save(torch.nn.Linear(4, 4).to(dev).state_dict(), "/tmp/y.pt"),
    "math.isfinite(v0)": lambda: math.isfinite(v0),
    "f'{v0:.2f}'": lambda: f"{v0:.2f}",
    "list(idxv)": lambda: list(idxv),
    "for i in idxv": lambda: [i for i in idxv],
    "torch.as_tensor(list_bool, device)": lambda: torch.as_tensor([True, False] * 4, device=dev),
    "t[torch.as_tensor(keep_list, device)]": lambda: t[torch.as_tensor([True, False] * 4, device=dev)],
    "torch._assert(v0 > 0)": lambda: torch._assert(v0 > 0, "x"),
    "torch._assert_async(v0 > 0)": lambda: torch._assert_async(v0 > 0),
    "torch.nn.functional.one_hot(idxv)": lambda: torch.nn.functional.one_hot(idxv),
    "torch.nn.functional.one_hot(idxv, 5)": lambda: torch.nn.functional.one_hot(idxv, 5),
    "torch.repeat_interleave(t, 2, dim=0)": lambda: torch.repeat_interleave(t, 2, dim=0),
    "t.max() (reduction)": lambda: t.max(),
    "torch.topk(t.flatten(), 3)": lambda: torch.topk(t.flatten(), 3),
    "t.sort()": lambda: t.sort(),
    "torch.clamp(t, min=v0)": lambda: torch.clamp(t, min=v0),
    "t.new_tensor([1,2])": lambda: t.new_tensor([1.0, 2.0]),
    "torch.tensor(5, device=dev)": lambda: torch.tensor(5, device=dev),
    "torch.full((2,), 3.0, device=dev)": lambda: torch.full((2,), 3.0, device=dev),
    "t * lr_cpu (cpu 0-d operand)": lambda: t * lr_cpu,
    "t.to('cuda', non_blocking=True)": lambda: t.to("cuda", non_blocking=True),
}
torch.cuda.synchronize()
amp = {}
try:
    model = torch.nn.Linear(4, 4).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cuda")
    loss = model(torch.randn(2, 4, device=dev)).sum()
    scaler.scale(loss).backward()
    cases["GradScaler.step"] = lambda: scaler.step(opt)
    cases["GradScaler.update"] = lambda: scaler.update()
except Exception as e:
    print("amp setup failed", e)
rows = []
for name, fn in cases.items():
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        fn()
        res = "no sync"
    except RuntimeError as e:
        res = "SYNC" if "synchroniz" in str(e) else "error: " + str(e).splitlines()[0][:60]
    finally:
        torch.cuda.set_sync_debug_mode(0)
    rows.append((name, res))
w = max(len(n) for n, _ in rows)
for n, r in rows:
    print(f"{n:<{w}}  {r}")
print(torch.__version__, torch.cuda.get_device_name())
