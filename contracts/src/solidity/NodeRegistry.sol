// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

import {GpuGroup, INodeRegistry, NodeFilter, NodeInfo, NodeOutcome, NodeStatus} from "./Types.sol";

/// @title NodeRegistry
/// @notice Stakes, GPU announcements, states, QoS and weighted selection of Tessera nodes.
/// Only the task manager and the appeals contract, each named once by the owner, may draw,
/// release or slash nodes.
contract NodeRegistry is INodeRegistry {
    // ---------------------------------------------------------------- parameters

    struct Params {
        /// Stake needed to join and to stay (in wei of the native currency, CNX).
        uint256 minStake;
        /// Seconds a quitting node's stake stays locked before it can be withdrawn.
        uint64 unbondingDelay;
        /// Receives slashed stake (credited, withdrawn with `withdraw`).
        address treasury;
    }

    /// QoS: finish-order scores for the first, second and third commitment of a task.
    uint8 internal constant SCORE_FIRST = 10;
    uint8 internal constant SCORE_SECOND = 5;
    uint8 internal constant SCORE_THIRD = 2;
    /// QoS: how many recent task scores the long-term score averages.
    uint256 internal constant QOS_WINDOW = 50;
    /// Health factor in permille: cut to 30% on a fault, +15% per success, at most 100%.
    uint256 internal constant HEALTH_MAX = 1000;
    uint256 internal constant HEALTH_FAULT_FACTOR = 300;
    uint256 internal constant HEALTH_RECOVERY = 150;
    /// A node that already holds every model of a task weighs 1.3 times more.
    uint256 internal constant MODEL_BOOST_PERCENT = 130;
    /// A node announces at most this many models, each id at most `MAX_MODEL_ID_BYTES`.
    uint256 public constant MAX_NODE_MODELS = 64;
    uint256 public constant MAX_MODEL_ID_BYTES = 128;
    /// A draw walks at most this many available nodes (a window of the list starting at a
    /// place the seed picks), so its cost does not grow with the network.
    uint256 public constant MAX_WALK = 128;

    // ---------------------------------------------------------------- errors

    error NotRegistryOwner(address caller);
    error NotTaskManager(address caller);
    error TaskManagerAlreadySet(address taskManager);
    error NotAppeals(address caller);
    error AppealsAlreadySet(address appeals);
    error InvalidRegistryParameter(string name);
    error StakeTooLow(uint256 sent, uint256 minimum);
    error InvalidGpu(string gpuName, uint64 gpuVram);
    error InvalidModelId(uint256 index);
    error WrongStatus(address node, NodeStatus status);
    error StillUnbonding(uint64 until);
    error NoStakeToWithdraw(address account);
    error StakeTransferFailed(address to, uint256 amount);
    error NodeNotOnTask(address node, uint256 taskId);
    error ModelAlreadyRegistered(string name, bytes32 manifest);

    // ---------------------------------------------------------------- events

    event NodeJoined(
        address indexed node,
        bytes32 indexed gpuId,
        string gpuName,
        uint64 gpuVram,
        uint32[3] version,
        string[] modelIds,
        uint256 stake
    );
    event NodeStatusChanged(address indexed node, NodeStatus from, NodeStatus to);
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);
    event ModelsUpdated(address indexed node, string[] modelIds);
    event VersionUpdated(address indexed node, uint32[3] version);
    event NodeReleased(address indexed node, uint256 indexed taskId, NodeOutcome outcome, uint256 qosScore, uint256 health);
    event NodeSlashed(address indexed node, uint256 indexed taskId, NodeOutcome reason, uint256 amount, uint256 stakeLeft);
    /// The node's stake fell under the minimum after a slash: it was made to quit.
    event NodeKicked(address indexed node, uint256 stakeLeft);
    event StakeUnbonding(address indexed node, uint256 amount, uint64 releaseAt);
    event Withdrawn(address indexed account, uint256 amount);
    event ParamsUpdated(uint256 minStake, uint64 unbondingDelay, address treasury);
    event TaskManagerSet(address taskManager);
    event AppealsSet(address appeals);
    /// Model `name` is the weights whose manifest digest is `manifest`, for good.
    event ModelRegistered(string name, bytes32 manifest);

    // ---------------------------------------------------------------- storage

    struct Node {
        NodeStatus status;
        uint64 gpuVram;
        uint64 drawableSince;
        uint64 unbondingUntil;
        uint16 health;
        uint8 recentCount;
        uint8 recentNext;
        uint16 recentSum;
        uint32[3] version;
        uint256 stake;
        uint256 unbondingAmount;
        bytes32 gpuId;
        uint256 currentTask;
        uint256 modelsEpoch;
        /// 1-based positions in `activeList` and `availableList` (0: not listed).
        uint256 activeIndex;
        uint256 availableIndex;
        string gpuName;
        string[] modelIds;
        uint8[50] recent;
    }

    struct Group {
        string gpuName;
        uint64 gpuVram;
        uint256 active;
        uint256 available;
        uint256 stake;
        bool known;
    }

    address public owner;
    address public taskManager;
    address public appeals;
    Params internal params;

    mapping(address => Node) internal nodes;
    /// modelHash => epoch of the node's model list that contains it.
    mapping(address => mapping(bytes32 => uint256)) internal modelEpochOf;
    /// Credited, withdrawable amounts: released stakes and the treasury's slashes.
    mapping(address => uint256) public withdrawable;

    address[] internal activeList;
    address[] internal availableList;
    bytes32[] internal gpuIds;
    /// keccak256(model name) => its manifest digest (`relay_api::manifest_digest`).
    mapping(bytes32 => bytes32) internal modelManifests;
    mapping(bytes32 => Group) internal groups;
    uint256 public totalStaked;
    /// Stake the task manager slashed from a node over a task: what an appeal that the
    /// node wins gives back.
    mapping(address => mapping(uint256 => uint256)) public slashedOn;

    constructor(Params memory initial) {
        owner = msg.sender;
        _setParams(initial);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotRegistryOwner(msg.sender);
        _;
    }

    modifier onlyTaskManager() {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        _;
    }

    modifier onlyAppeals() {
        if (msg.sender != appeals) revert NotAppeals(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- admin

    function setParams(Params calldata next) external onlyOwner {
        _setParams(next);
    }

    function getParams() external view returns (Params memory) {
        return params;
    }

    /// Names the task manager; possible once, so the owner cannot later swap in a
    /// contract that slashes at will.
    function setTaskManager(address manager) external onlyOwner {
        if (taskManager != address(0)) revert TaskManagerAlreadySet(taskManager);
        if (manager == address(0)) revert InvalidRegistryParameter("taskManager");
        taskManager = manager;
        emit TaskManagerSet(manager);
    }

    /// Names the appeals contract (jury draws, releases and the losers' slashes); possible
    /// once, for the same reason.
    function setAppeals(address contract_) external onlyOwner {
        if (appeals != address(0)) revert AppealsAlreadySet(appeals);
        if (contract_ == address(0)) revert InvalidRegistryParameter("appeals");
        appeals = contract_;
        emit AppealsSet(contract_);
    }

    function transferOwnership(address next) external onlyOwner {
        if (next == address(0)) revert InvalidRegistryParameter("owner");
        owner = next;
    }

    /// Names the exact weights of model `name`: the digest of its manifest (every file's
    /// path, SHA-256 and size). Once registered a name never changes, so a relay can list
    /// other files under it only to have every node refuse them; new weights get a new
    /// name. Tasks name models; nodes and tabs fetch a model only when the relay's listing
    /// has this digest.
    function registerModel(string calldata name, bytes32 manifest) external onlyOwner {
        if (bytes(name).length == 0 || bytes(name).length > MAX_MODEL_ID_BYTES) {
            revert InvalidRegistryParameter("name");
        }
        if (manifest == bytes32(0)) revert InvalidRegistryParameter("manifest");
        bytes32 key = keccak256(bytes(name));
        bytes32 known = modelManifests[key];
        if (known != bytes32(0)) revert ModelAlreadyRegistered(name, known);
        modelManifests[key] = manifest;
        emit ModelRegistered(name, manifest);
    }

    /// The manifest digest registered for model `name` (zero: not registered).
    function modelManifest(string calldata name) external view returns (bytes32) {
        return modelManifests[keccak256(bytes(name))];
    }

    function _setParams(Params memory next) internal {
        if (next.minStake == 0) revert InvalidRegistryParameter("minStake");
        if (next.treasury == address(0)) revert InvalidRegistryParameter("treasury");
        params = next;
        emit ParamsUpdated(next.minStake, next.unbondingDelay, next.treasury);
    }

    // ---------------------------------------------------------------- node actions

    /// Joins the network with `msg.value` as stake.
    /// @param gpuName the GPU model as `nvidia-smi` (or the browser adapter) names it
    /// @param gpuVram VRAM in GB, rounded up
    /// @param version node software version (major, minor, patch)
    /// @param modelIds ids of the models the node holds locally
    function join(string calldata gpuName, uint64 gpuVram, uint32[3] calldata version, string[] calldata modelIds)
        external
        payable
    {
        Node storage n = nodes[msg.sender];
        if (n.status != NodeStatus.Quit) revert WrongStatus(msg.sender, n.status);
        if (msg.value < params.minStake) revert StakeTooLow(msg.value, params.minStake);
        if (bytes(gpuName).length == 0 || gpuVram == 0) revert InvalidGpu(gpuName, gpuVram);

        bytes32 gpuId = keccak256(abi.encodePacked(gpuName, uint256(gpuVram)));
        Group storage g = groups[gpuId];
        if (!g.known) {
            g.known = true;
            g.gpuName = gpuName;
            g.gpuVram = gpuVram;
            gpuIds.push(gpuId);
        }

        n.stake = msg.value;
        n.gpuName = gpuName;
        n.gpuVram = gpuVram;
        n.gpuId = gpuId;
        n.version = version;
        if (n.health == 0 && n.recentCount == 0) n.health = uint16(HEALTH_MAX);
        _setModels(msg.sender, n, modelIds);
        totalStaked += msg.value;

        activeList.push(msg.sender);
        n.activeIndex = activeList.length;
        g.active += 1;
        g.stake += msg.value;
        emit NodeJoined(msg.sender, gpuId, gpuName, gpuVram, version, modelIds, msg.value);
        _setStatus(msg.sender, n, NodeStatus.Available);
    }

    /// Adds `msg.value` to the caller's stake.
    function addStake() external payable {
        Node storage n = nodes[msg.sender];
        if (n.status == NodeStatus.Quit) revert WrongStatus(msg.sender, n.status);
        n.stake += msg.value;
        totalStaked += msg.value;
        groups[n.gpuId].stake += msg.value;
        n.drawableSince = uint64(block.number);
        emit StakeAdded(msg.sender, msg.value, n.stake);
    }

    /// Replaces the list of models the node holds.
    function updateModels(string[] calldata modelIds) external {
        Node storage n = nodes[msg.sender];
        if (n.status == NodeStatus.Quit) revert WrongStatus(msg.sender, n.status);
        _setModels(msg.sender, n, modelIds);
    }

    /// Announces a new node software version; only while not on a task.
    function updateVersion(uint32[3] calldata version) external {
        Node storage n = nodes[msg.sender];
        if (n.status != NodeStatus.Available && n.status != NodeStatus.Paused) revert WrongStatus(msg.sender, n.status);
        n.version = version;
        n.drawableSince = uint64(block.number);
        emit VersionUpdated(msg.sender, version);
    }

    /// Stops taking tasks: at once when available, after the current task when busy.
    function pause() external {
        Node storage n = nodes[msg.sender];
        if (n.status == NodeStatus.Available) _setStatus(msg.sender, n, NodeStatus.Paused);
        else if (n.status == NodeStatus.Busy) _setStatus(msg.sender, n, NodeStatus.PendingPause);
        else revert WrongStatus(msg.sender, n.status);
    }

    /// Takes tasks again after `pause` (also cancels a pause still pending).
    function resume() external {
        Node storage n = nodes[msg.sender];
        if (n.status == NodeStatus.Paused) {
            if (n.stake < params.minStake) revert StakeTooLow(n.stake, params.minStake);
            _setStatus(msg.sender, n, NodeStatus.Available);
        } else if (n.status == NodeStatus.PendingPause) {
            _setStatus(msg.sender, n, NodeStatus.Busy);
        } else {
            revert WrongStatus(msg.sender, n.status);
        }
    }

    /// Leaves the network: at once when available or paused, after the current task
    /// when busy. The stake unbonds for `unbondingDelay` seconds, then `withdraw` pays it.
    function quit() external {
        Node storage n = nodes[msg.sender];
        NodeStatus s = n.status;
        if (s == NodeStatus.Available || s == NodeStatus.Paused) _leave(msg.sender, n);
        else if (s == NodeStatus.Busy || s == NodeStatus.PendingPause) _setStatus(msg.sender, n, NodeStatus.PendingQuit);
        else revert WrongStatus(msg.sender, s);
    }

    /// Pays the caller what is credited to it plus its stake once unbonded.
    function withdraw() external {
        Node storage n = nodes[msg.sender];
        uint256 amount = withdrawable[msg.sender];
        if (n.unbondingAmount > 0) {
            if (block.timestamp < n.unbondingUntil) {
                if (amount == 0) revert StillUnbonding(n.unbondingUntil);
            } else {
                amount += n.unbondingAmount;
                n.unbondingAmount = 0;
            }
        }
        if (amount == 0) revert NoStakeToWithdraw(msg.sender);
        withdrawable[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert StakeTransferFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- task manager hooks

    /// Number of nodes that could serve a task with this filter, counted up to `limit`:
    /// joined, available or busy (not paused or leaving), matching GPU, VRAM and version,
    /// not the creator. The walk stops once `limit` are found.
    function countEligible(NodeFilter calldata filter, uint256 limit) external view returns (uint256 count) {
        uint256 len = activeList.length;
        for (uint256 i = 0; i < len && count < limit; i++) {
            address a = activeList[i];
            Node storage n = nodes[a];
            if (n.status != NodeStatus.Available && n.status != NodeStatus.Busy) continue;
            if (_matches(a, n, filter)) count++;
        }
    }

    /// Draws three distinct available nodes for a task, weighted by stake and QoS, and
    /// marks them busy. Returns `selected = false` (changing nothing) when fewer than
    /// `minCandidates` (at least three) qualify: the pool minimum a task was admitted with
    /// holds for the nodes the draw actually chooses from. Only nodes whose last change a
    /// draw reads (becoming available, stake, models, version) happened before block
    /// `fixedBefore` qualify: the caller passes a block at whose end `seed` was unknown,
    /// so nobody can enter a draw, or weigh more in it, after seeing its seed. A caller
    /// with a seed already public passes this block, and the draw mixes in this block's
    /// RANDAO value. See `_draw` for why leaving cannot steer a draw either.
    function selectNodes(
        NodeFilter calldata filter,
        bytes32 seed,
        uint256 taskId,
        uint256 minCandidates,
        uint256 fixedBefore
    ) external onlyTaskManager returns (bool selected, address[3] memory chosen) {
        address[3] memory none;
        address[] memory drawn;
        (selected, drawn) = _draw(filter, seed, taskId, none, 3, minCandidates, fixedBefore);
        if (selected) chosen = [drawn[0], drawn[1], drawn[2]];
    }

    /// Draws `count` jurors for an appeal as `selectNodes` draws seats, never one of
    /// `exclude` (the task's seats), and marks them busy on `caseId`. Returns false,
    /// changing nothing, when fewer than `count` qualify.
    function selectJury(
        NodeFilter calldata filter,
        bytes32 seed,
        uint256 caseId,
        address[3] calldata exclude,
        uint256 count,
        uint256 fixedBefore
    ) external onlyAppeals returns (bool selected, address[] memory chosen) {
        return _draw(filter, seed, caseId, exclude, count, count, fixedBefore);
    }

    /// Takes `slashBps` of a node's stake (its unbonding stake once it has quit) for losing
    /// an appeal of task `taskId`, and sends it to the appeals contract for the winners.
    /// A node left under the minimum stake is made to quit (after its current task).
    function penalize(address node, uint256 taskId, uint256 slashBps)
        external
        onlyAppeals
        returns (uint256 slashed)
    {
        Node storage n = nodes[node];
        uint256 bps = slashBps > 10_000 ? 10_000 : slashBps;
        if (n.status == NodeStatus.Quit) {
            slashed = n.unbondingAmount * bps / 10_000;
            n.unbondingAmount -= slashed;
        } else {
            slashed = n.stake * bps / 10_000;
            n.stake -= slashed;
            totalStaked -= slashed;
            groups[n.gpuId].stake -= slashed;
            n.health = uint16(uint256(n.health) * HEALTH_FAULT_FACTOR / HEALTH_MAX);
            if (n.stake < params.minStake && (n.status == NodeStatus.Available || n.status == NodeStatus.Paused)) {
                emit NodeKicked(node, n.stake);
                _leave(node, n);
            }
        }
        emit NodeSlashed(node, taskId, NodeOutcome.Dissent, slashed, n.stake);
        if (slashed > 0) {
            (bool ok,) = appeals.call{value: slashed}("");
            if (!ok) revert StakeTransferFailed(appeals, slashed);
        }
    }

    /// The weighted draw of `k` distinct available nodes matching `filter`, none of
    /// `exclude`, from at least `minCandidates`; marks them busy on `taskId`.
    ///
    /// An exponential race (Efraimidis and Spirakis): each candidate `a` of weight `w`
    /// gets the key `-log2(u) / w`, `u` uniform in (0, 1] from `keccak256(seed, a)`, and
    /// the `k` smallest keys win. That is a draw without replacement with probabilities
    /// proportional to weight, and each key depends on nothing but the seed, the node and
    /// its weight: a node that leaves the candidates after seeing the seed (pausing,
    /// being drawn elsewhere) changes no other node's key, so it can only give up its own
    /// seat to the next key, never choose who else is drawn. At most `MAX_WALK` available
    /// nodes are walked: all of them up to that size, past it a window of the list from a
    /// place `seed` picks in proportion to the list's length (one node leaving moves the
    /// window by at most one place).
    function _draw(
        NodeFilter calldata filter,
        bytes32 seed,
        uint256 taskId,
        address[3] memory exclude,
        uint256 k,
        uint256 minCandidates,
        uint256 fixedBefore
    ) internal returns (bool selected, address[] memory chosen) {
        // A seed already public when this block began: add randomness fixed with this block.
        if (fixedBefore >= block.number) seed = keccak256(abi.encodePacked(seed, block.prevrandao));
        uint256 count;
        (chosen, count) = _race(filter, seed, exclude, k, fixedBefore);
        if (count < k || count < minCandidates) return (false, new address[](0));
        for (uint256 c = 0; c < k; c++) {
            Node storage n = nodes[chosen[c]];
            n.currentTask = taskId;
            _setStatus(chosen[c], n, NodeStatus.Busy);
        }
        return (true, chosen);
    }

    /// The race itself: the `k` candidates with the smallest keys, smallest first, and how
    /// many candidates there were.
    function _race(
        NodeFilter calldata filter,
        bytes32 seed,
        address[3] memory exclude,
        uint256 k,
        uint256 fixedBefore
    ) internal view returns (address[] memory chosen, uint256 count) {
        uint256 len = availableList.length;
        uint256 walk = len < MAX_WALK ? len : MAX_WALK;
        uint256 start = len <= MAX_WALK ? 0 : ((uint256(keccak256(abi.encodePacked(seed, "window"))) >> 128) * len) >> 128;
        chosen = new address[](k);
        uint256[] memory keys = new uint256[](k);
        for (uint256 i = 0; i < walk; i++) {
            address a = availableList[(start + i) % len];
            uint256 w = _drawWeight(a, filter, exclude, fixedBefore);
            if (w == 0) continue;
            _keep(chosen, keys, count < k ? count : k, a, _raceKey(seed, a, w));
            count++;
        }
    }

    /// Inserts `a` with `key` into the sorted `kept` first entries of `chosen`/`keys`
    /// (dropping the last when all are kept and `key` is smaller).
    function _keep(address[] memory chosen, uint256[] memory keys, uint256 kept, address a, uint256 key)
        internal
        pure
    {
        uint256 p = kept;
        if (p == keys.length) {
            if (key >= keys[p - 1]) return;
            p--;
        }
        while (p > 0 && keys[p - 1] > key) {
            keys[p] = keys[p - 1];
            chosen[p] = chosen[p - 1];
            p--;
        }
        keys[p] = key;
        chosen[p] = a;
    }

    /// A candidate's key in the race: `-log2(u) / w` in fixed point, `u = x / 2^64` with
    /// `x` in 1..2^64 the top 64 bits of `keccak256(seed, a)` plus one.
    function _raceKey(bytes32 seed, address a, uint256 w) internal pure returns (uint256) {
        uint256 x = (uint256(keccak256(abi.encodePacked(seed, a))) >> 192) + 1;
        return (((64 << 32) - _log2(x)) << 128) / w;
    }

    /// `log2(x)` with 32 fractional bits, rounded down, for `1 <= x <= 2^64`.
    function _log2(uint256 x) internal pure returns (uint256 r) {
        uint256 n = 0;
        for (uint256 s = 64; s > 0; s >>= 1) {
            if (x >> (n + s) > 0) n += s;
        }
        r = n << 32;
        // y: x scaled into [2^127, 2^128), a number in [1, 2) with 127 fractional bits.
        uint256 y = x << (127 - n);
        for (uint256 bit = 1 << 31; bit > 0; bit >>= 1) {
            y = (y * y) >> 127;
            if (y >= 1 << 128) {
                y >>= 1;
                r |= bit;
            }
        }
    }

    /// A candidate's weight in a draw, or 0 when it may not be drawn.
    function _drawWeight(address a, NodeFilter calldata filter, address[3] memory exclude, uint256 fixedBefore)
        internal
        view
        returns (uint256 w)
    {
        if (a == exclude[0] || a == exclude[1] || a == exclude[2]) return 0;
        Node storage n = nodes[a];
        if (n.drawableSince >= fixedBefore || !_matches(a, n, filter)) return 0;
        w = _weight(n);
        if (_holdsModels(a, n, filter.modelHashes)) w = w * MODEL_BOOST_PERCENT / 100;
    }

    /// Ends a node's part in a task: QoS update, optional slash of `slashBps` of its stake,
    /// and the pending pause or quit takes effect. Returns the amount slashed.
    function releaseNode(address node, uint256 taskId, NodeOutcome outcome, uint256 finishRank, uint256 slashBps)
        external
        returns (uint256 slashed)
    {
        if (msg.sender != taskManager && msg.sender != appeals) {
            revert NotTaskManager(msg.sender);
        }
        Node storage n = nodes[node];
        if (n.currentTask != taskId || taskId == 0) revert NodeNotOnTask(node, taskId);
        n.currentTask = 0;

        uint8 score = 0;
        if (outcome == NodeOutcome.Success) {
            score = finishRank == 0 ? SCORE_FIRST : (finishRank == 1 ? SCORE_SECOND : SCORE_THIRD);
            uint256 h = n.health + HEALTH_RECOVERY;
            n.health = uint16(h > HEALTH_MAX ? HEALTH_MAX : h);
        } else if (outcome != NodeOutcome.NoFault) {
            n.health = uint16(uint256(n.health) * HEALTH_FAULT_FACTOR / HEALTH_MAX);
        }
        _pushScore(n, score);

        if (slashBps > 0) {
            slashed = n.stake * (slashBps > 10_000 ? 10_000 : slashBps) / 10_000;
            n.stake -= slashed;
            totalStaked -= slashed;
            groups[n.gpuId].stake -= slashed;
            withdrawable[params.treasury] += slashed;
            slashedOn[node][taskId] += slashed;
            emit NodeSlashed(node, taskId, outcome, slashed, n.stake);
        }
        emit NodeReleased(node, taskId, outcome, _qosScore(n), n.health);

        NodeStatus s = n.status;
        if (s == NodeStatus.PendingQuit) {
            _leave(node, n);
        } else if (n.stake < params.minStake) {
            emit NodeKicked(node, n.stake);
            _leave(node, n);
        } else if (s == NodeStatus.PendingPause) {
            _setStatus(node, n, NodeStatus.Paused);
        } else {
            _setStatus(node, n, NodeStatus.Available);
        }
    }

    // ---------------------------------------------------------------- views

    function getNode(address node) external view returns (NodeInfo memory info) {
        Node storage n = nodes[node];
        info.status = n.status;
        info.stake = n.stake;
        info.gpuName = n.gpuName;
        info.gpuVram = n.gpuVram;
        info.gpuId = n.gpuId;
        info.version = n.version;
        info.modelIds = n.modelIds;
        info.drawableSince = n.drawableSince;
        info.currentTask = n.currentTask;
        info.qosScore = _qosScore(n);
        info.health = n.health;
        info.weight = n.status == NodeStatus.Quit ? 0 : _weight(n);
        info.unbondingAmount = n.unbondingAmount;
        info.unbondingUntil = n.unbondingUntil;
    }

    /// Nodes that have joined and not quit (any status but Quit).
    function getActiveNodes() external view returns (address[] memory) {
        return activeList;
    }

    /// Nodes free to take a task now.
    function getAvailableNodes() external view returns (address[] memory) {
        return availableList;
    }

    /// Number of nodes free to take a task now.
    function availableCount() external view returns (uint256) {
        return availableList.length;
    }

    /// Every GPU group ever announced, with its current node counts.
    function getGpuGroups() external view returns (GpuGroup[] memory out) {
        out = new GpuGroup[](gpuIds.length);
        for (uint256 i = 0; i < gpuIds.length; i++) {
            Group storage g = groups[gpuIds[i]];
            out[i] = GpuGroup(gpuIds[i], g.gpuName, g.gpuVram, g.active, g.available, g.stake);
        }
    }

    /// (joined nodes, available nodes, total stake).
    function getStats() external view returns (uint256 activeNodes, uint256 availableNodes, uint256 staked) {
        return (activeList.length, availableList.length, totalStaked);
    }

    // ---------------------------------------------------------------- internals

    function _matches(address a, Node storage n, NodeFilter calldata f) internal view returns (bool) {
        if (a == f.creator) return false;
        if (n.gpuVram < f.minVram) return false;
        if (f.gpuId != bytes32(0) && n.gpuId != f.gpuId) return false;
        uint32[3] storage v = n.version;
        if (v[0] != f.version[0]) return false;
        if (v[1] != f.version[1]) return v[1] > f.version[1];
        return v[2] >= f.version[2];
    }

    function _holdsModels(address a, Node storage n, bytes32[] calldata hashes) internal view returns (bool) {
        if (hashes.length == 0) return false;
        for (uint256 i = 0; i < hashes.length; i++) {
            if (modelEpochOf[a][hashes[i]] != n.modelsEpoch) return false;
        }
        return true;
    }

    /// Long-term QoS in 0..1000: the mean of the last 50 finish-order scores (10/5/2,
    /// 0 for a task that did not succeed) times 100; a node without history starts at 1000.
    function _qosScore(Node storage n) internal view returns (uint256) {
        if (n.recentCount == 0) return 1000;
        return uint256(n.recentSum) * 100 / n.recentCount;
    }

    /// Selection weight: `S*Q/(S+Q)` with `S = 1000*sqrt(stake/minStake)` and
    /// `Q = qos * health`, both near 1000 for a healthy node with the minimum stake.
    function _weight(Node storage n) internal view returns (uint256) {
        uint256 s = _sqrt(n.stake * 1e6 / params.minStake);
        uint256 q = _qosScore(n) * n.health / HEALTH_MAX;
        if (s + q == 0) return 1;
        uint256 w = s * q / (s + q);
        return w == 0 ? 1 : w;
    }

    function _pushScore(Node storage n, uint8 score) internal {
        if (n.recentCount == QOS_WINDOW) {
            n.recentSum -= n.recent[n.recentNext];
        } else {
            n.recentCount += 1;
        }
        n.recent[n.recentNext] = score;
        n.recentSum += score;
        n.recentNext = uint8((n.recentNext + 1) % QOS_WINDOW);
    }

    function _setModels(address a, Node storage n, string[] calldata modelIds) internal {
        if (modelIds.length > MAX_NODE_MODELS) revert InvalidModelId(MAX_NODE_MODELS);
        n.modelsEpoch += 1;
        n.drawableSince = uint64(block.number);
        delete n.modelIds;
        for (uint256 i = 0; i < modelIds.length; i++) {
            uint256 len = bytes(modelIds[i]).length;
            if (len == 0 || len > MAX_MODEL_ID_BYTES) revert InvalidModelId(i);
            n.modelIds.push(modelIds[i]);
            modelEpochOf[a][keccak256(bytes(modelIds[i]))] = n.modelsEpoch;
        }
        emit ModelsUpdated(a, modelIds);
    }

    /// Moves a node to Quit: off the lists, stake into unbonding.
    function _leave(address a, Node storage n) internal {
        _setStatus(a, n, NodeStatus.Quit);
        uint256 idx = n.activeIndex;
        address last = activeList[activeList.length - 1];
        activeList[idx - 1] = last;
        nodes[last].activeIndex = idx;
        activeList.pop();
        n.activeIndex = 0;
        groups[n.gpuId].active -= 1;

        uint256 amount = n.stake;
        n.stake = 0;
        totalStaked -= amount;
        groups[n.gpuId].stake -= amount;
        n.unbondingAmount += amount;
        n.unbondingUntil = uint64(block.timestamp) + params.unbondingDelay;
        emit StakeUnbonding(a, amount, n.unbondingUntil);
    }

    function _setStatus(address a, Node storage n, NodeStatus next) internal {
        NodeStatus prev = n.status;
        if (prev == NodeStatus.Available && next != NodeStatus.Available) {
            uint256 idx = n.availableIndex;
            address last = availableList[availableList.length - 1];
            availableList[idx - 1] = last;
            nodes[last].availableIndex = idx;
            availableList.pop();
            n.availableIndex = 0;
            groups[n.gpuId].available -= 1;
        } else if (next == NodeStatus.Available && prev != NodeStatus.Available) {
            availableList.push(a);
            n.availableIndex = availableList.length;
            groups[n.gpuId].available += 1;
            n.drawableSince = uint64(block.number);
        }
        n.status = next;
        emit NodeStatusChanged(a, prev, next);
    }

    function _sqrt(uint256 x) internal pure returns (uint256 y) {
        if (x == 0) return 0;
        uint256 z = (x + 1) / 2;
        y = x;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }
}
