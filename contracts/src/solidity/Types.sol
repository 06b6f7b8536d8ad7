// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// Life cycle of a node, numbered as in the reference network.
enum NodeStatus {
    Quit,
    Available,
    Busy,
    PendingPause,
    PendingQuit,
    Paused
}

/// How a node's part in a task ended, as the task manager reports it to the registry.
enum NodeOutcome {
    /// The node's result agreed with the majority: it is released with a finish-order
    /// QoS score (10, 5, 2 for the first, second, third commitment).
    Success,
    /// The task was aborted through no provable fault of this node: QoS score 0, no slash.
    NoFault,
    /// The node never committed nor reported an error before the commit deadline.
    Timeout,
    /// The node's revealed result disagreed with the other two.
    Dissent,
    /// The node committed but did not reveal before the reveal deadline.
    Withheld,
    /// The node reported an error while the two other nodes agreed on a result.
    Errored,
    /// The node was the designated uploader and did not report the upload in time.
    UploadMissed
}

/// What the registry needs to know to decide whether a node may serve a task.
struct NodeFilter {
    /// Minimum VRAM in GB.
    uint64 minVram;
    /// Required GPU, `keccak256(abi.encodePacked(gpuName, gpuVram))`, or zero for any GPU.
    bytes32 gpuId;
    /// Task software version: a node qualifies with the same major version and a
    /// version at least this one.
    uint32[3] version;
    /// The task's creator, never a candidate for its own task.
    address creator;
    /// keccak256 of each model id of the task: nodes holding all of them weigh more.
    bytes32[] modelHashes;
}

/// A node as the views return it.
struct NodeInfo {
    NodeStatus status;
    uint256 stake;
    string gpuName;
    uint64 gpuVram;
    bytes32 gpuId;
    uint32[3] version;
    string[] modelIds;
    /// Block of the node's last change a draw reads (becoming available, stake, models,
    /// version): it only enters draws whose randomness was unknown at that block's end.
    uint64 drawableSince;
    /// Task the node is working on (0 when none).
    uint256 currentTask;
    /// Mean of the last finish-order scores, 0..10 scaled by 100 (so 0..1000).
    uint256 qosScore;
    /// Health factor in permille (1000 = healthy).
    uint256 health;
    /// Selection weight the node would have now for a task whose models it holds not.
    uint256 weight;
    /// Stake waiting out the unbonding delay, and when it is released.
    uint256 unbondingAmount;
    uint64 unbondingUntil;
}

/// A group of nodes with the same GPU model and VRAM.
struct GpuGroup {
    bytes32 gpuId;
    string gpuName;
    uint64 gpuVram;
    /// Nodes of the group that have joined and not quit.
    uint256 activeNodes;
    /// Nodes of the group that are available for a task now.
    uint256 availableNodes;
    /// Stake of the group's joined nodes: what colluders in it must put at risk. Names
    /// are free; a requester choosing a group for an LLM task weighs this, not the count.
    uint256 stake;
}

/// Interface the task manager uses to draw, release and punish nodes.
interface INodeRegistry {
    function countEligible(NodeFilter calldata filter, uint256 limit) external view returns (uint256);
    function availableCount() external view returns (uint256);
    function selectNodes(
        NodeFilter calldata filter,
        bytes32 seed,
        uint256 taskId,
        uint256 minCandidates,
        uint256 fixedBefore
    )
        external
        returns (bool selected, address[3] memory nodes);
    function releaseNode(address node, uint256 taskId, NodeOutcome outcome, uint256 finishRank, uint256 slashBps)
        external
        returns (uint256 slashed);
}
