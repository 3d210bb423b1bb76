//! An independent reference solver for tests: minimum-cost maximum flow by
//! successive shortest paths (Bellman-Ford) on the bipartite graph
//! source → rows → columns → sink. Slower than [`super::lsa::solve`] and
//! written separately so the two can check each other.

/// The minimum-cost assignment of `min(rows, cols)` pairs, as [`super::lsa::solve`].
pub fn solve_min_cost_flow(cost: &[f32], rows: usize, cols: usize) -> Vec<Option<usize>> {
    // Nodes: 0 source, 1..=rows rows, rows+1..=rows+cols columns, last sink.
    let source = 0;
    let sink = rows + cols + 1;
    let nodes = sink + 1;
    #[derive(Clone, Copy)]
    struct Edge {
        to: usize,
        cap: i32,
        cost: f64,
    }
    let mut edges: Vec<Edge> = Vec::new();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    let mut add = |from: usize, to: usize, cost: f64, edges: &mut Vec<Edge>| {
        out[from].push(edges.len());
        edges.push(Edge { to, cap: 1, cost });
        out[to].push(edges.len());
        edges.push(Edge {
            to: from,
            cap: 0,
            cost: -cost,
        });
    };
    for r in 0..rows {
        add(source, 1 + r, 0.0, &mut edges);
    }
    for r in 0..rows {
        for c in 0..cols {
            add(1 + r, 1 + rows + c, f64::from(cost[r * cols + c]), &mut edges);
        }
    }
    for c in 0..cols {
        add(1 + rows + c, sink, 0.0, &mut edges);
    }
    for _ in 0..rows.min(cols) {
        let mut dist = vec![f64::INFINITY; nodes];
        let mut via: Vec<Option<usize>> = vec![None; nodes];
        dist[source] = 0.0;
        // Bellman-Ford: the residual graph has negative edges.
        for _ in 0..nodes {
            let mut changed = false;
            for node in 0..nodes {
                if !dist[node].is_finite() {
                    continue;
                }
                for &e in &out[node] {
                    let edge = edges[e];
                    if edge.cap > 0 && dist[node] + edge.cost < dist[edge.to] - 1e-12 {
                        dist[edge.to] = dist[node] + edge.cost;
                        via[edge.to] = Some(e);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        if !dist[sink].is_finite() {
            break;
        }
        let mut node = sink;
        while let Some(e) = via[node] {
            edges[e].cap -= 1;
            edges[e ^ 1].cap += 1;
            node = edges[e ^ 1].to;
        }
    }
    let mut result = vec![None; rows];
    for r in 0..rows {
        for &e in &out[1 + r] {
            let edge = edges[e];
            // A saturated forward edge (even index) row → column.
            if e % 2 == 0 && edge.cap == 0 && edge.to > rows && edge.to <= rows + cols {
                result[r] = Some(edge.to - rows - 1);
            }
        }
    }
    result
}
