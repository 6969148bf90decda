//! Unit tests of `cgroups/rdma.rs`.

use super::*;

#[test]
fn lines_and_validation() {
    assert_eq!(
        rdma_line("mlx5_1", Some(3), Some(10000)),
        "mlx5_1 hca_handle=3 hca_object=10000"
    );
    assert_eq!(rdma_line("rxe3", None, Some(7)), "rxe3 hca_object=7");
    let m: HashMap<String, LinuxRdma> =
        serde_json::from_value(serde_json::json!({"mlx4_0": {}})).unwrap();
    let e = validate(&m).unwrap_err().to_string();
    assert_eq!(
        e,
        "linux.resources.rdma.mlx4_0: needs hcaHandles or hcaObjects"
    );
}
