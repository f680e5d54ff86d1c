//! Strongly connected components (Tarjan): a component of two or more modules is a circle.

/// The components with more than one node of the graph `edges` (node `i` → `edges[i]`).
pub fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut t = Tarjan {
        edges,
        index: vec![None; edges.len()],
        low: vec![0; edges.len()],
        on_stack: vec![false; edges.len()],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..edges.len() {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    t.found
}

struct Tarjan<'a> {
    edges: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    found: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &self.edges[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            loop {
                let w = self.stack.pop().expect("v is on the stack");
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                self.found.push(component);
            }
        }
    }
}

#[test]
fn finds_a_parent_child_circle_and_not_a_chain() {
    assert_eq!(strongly_connected(&[vec![1], vec![2], vec![]]).len(), 0);
    let circles = strongly_connected(&[vec![1], vec![0], vec![0]]);
    assert_eq!(circles.len(), 1);
    assert_eq!(circles[0].len(), 2);
}
