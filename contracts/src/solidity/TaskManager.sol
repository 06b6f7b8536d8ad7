// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

import {INodeRegistry, NodeFilter, NodeOutcome} from "./Types.sol";

/// @title TaskManager
/// @notice Tasks of the Tessera network: creation with a fee, node selection from
/// requester-committed randomness, commit/reveal of result scores, 2-of-3 settlement,
/// slashing, refunds, the designated uploader and a bounded fee-ordered queue.
///
/// Randomness: `createTask` takes `seedCommitment = keccak256(abi.encodePacked(secret))`.
/// The draw happens in `revealSeed`, in a later block, with
/// `seed = keccak256(abi.encodePacked(secret, blockhash(createdBlock), taskId))`.
/// The requester fixes its secret before the creation block's hash exists; the producer
/// of that block fixes the hash without knowing the secret; nodes know neither, and a node
/// that joins or resumes in the reveal block is not eligible. The only choice left to the
/// requester, not revealing, costs it `seedPenaltyBps` of the fee, and the task is cancelled.
contract TaskManager {
    // ---------------------------------------------------------------- types

    struct Params {
        /// SD: two 8-byte image hashes agree when they differ in fewer than this many bits.
        uint64 similarityThreshold;
        /// Seconds selected nodes have to commit (or report an error) on a task of one unit;
        /// `taskTimeoutPerUnit` more per further unit. Also how long a task may wait in the
        /// queue: then it expires and its fee is refunded.
        uint64 taskTimeout;
        /// Extra seconds to commit per unit of work beyond the first (images for SD).
        uint64 taskTimeoutPerUnit;
        /// Seconds committed nodes have to reveal once all commitments are in.
        uint64 revealTimeout;
        /// Seconds the designated uploader has to report the upload.
        uint64 uploadTimeout;
        /// Blocks after creation within which the requester must reveal its secret (<= 256).
        uint64 seedWindowBlocks;
        /// A task whose filters leave fewer eligible nodes than this is refused (>= 3).
        uint64 minPoolSize;
        /// Queued tasks at most (1..64); the cheapest per unit of work is evicted when full.
        uint64 maxQueueSize;
        /// Smallest fee per unit of work (wei) a task may offer: work nobody pays for is
        /// refused before it reaches a node.
        uint256 minFeePerUnit;
        /// Share of the fee (basis points) a requester loses by not revealing its secret.
        uint16 seedPenaltyBps;
        /// Share of stake a node loses by staying silent, by reporting an error while the
        /// other two agree, or by not reporting its upload.
        uint16 timeoutSlashBps;
        /// Share of stake the odd node of a 2-of-3 majority loses.
        uint16 dissentSlashBps;
        /// Share of stake a node loses by committing and then not revealing.
        uint16 withheldSlashBps;
        /// Receives requester penalties (credited, withdrawn with `withdraw`).
        address treasury;
        /// The relay's receipt key: an upload counts only with a receipt it signed.
        address relaySigner;
    }

    /// What a requester asks for.
    struct TaskRequest {
        /// 0: Stable Diffusion image generation, 1: LLM text generation.
        uint8 taskType;
        /// keccak256 of the exact task-arguments bytes the relay will serve.
        bytes32 taskHash;
        string[] modelIds;
        /// Minimum VRAM in GB.
        uint64 minVram;
        /// Required GPU model and VRAM (LLM tasks must name one; empty name: any GPU).
        string gpuName;
        uint64 gpuVram;
        /// Node software version the task needs (same major, at least this version).
        uint32[3] version;
        /// Units of work (images for SD, 1 per LLM task): the queue orders by fee per unit.
        uint64 size;
    }

    enum TaskType {
        StableDiffusion,
        Llm
    }

    enum TaskState {
        None,
        /// Created; waiting for the requester's secret.
        WaitingSeed,
        /// Seed known but too few eligible nodes free: waiting in the queue.
        Queued,
        /// Three nodes selected; waiting for commitments or error reports.
        Running,
        /// Commitments in; waiting for reveals.
        Revealing,
        /// A majority agreed and was paid; waiting for the uploader.
        Validated,
        /// The uploader reported the upload.
        Success,
        Aborted
    }

    enum AbortReason {
        None,
        /// Revealed results all disagree.
        NoMajority,
        /// Two nodes reported errors.
        TooManyErrors,
        /// Fewer than two commitments by the deadline.
        TooFewCommitments,
        /// Fewer than two reveals by the deadline.
        TooFewReveals,
        /// The queue was full of tasks paying more per unit.
        QueueFull,
        /// Pushed out of the queue by a task paying more per unit.
        Evicted,
        /// The requester did not reveal its secret in time.
        SeedNotRevealed,
        /// Cancelled by its creator after waiting in the queue past the timeout.
        QueueTimeout,
        /// The designated uploader did not report the upload in time.
        UploadMissed
    }

    enum SeatStatus {
        Empty,
        Selected,
        Committed,
        Errored,
        Revealed,
        TimedOut,
        Withheld
    }

    enum PaymentKind {
        Reward,
        Refund,
        Penalty
    }

    struct Seat {
        address node;
        SeatStatus status;
        /// Order of the commitment (or error report) among the task's seats, 0-based.
        uint8 commitRank;
        /// Order of the reveal, 0-based.
        uint8 revealRank;
        /// The node's part is over (paid, slashed or released).
        bool released;
        uint32 errorCode;
        bytes32 commitment;
        bytes32 nonce;
        bytes score;
        /// SHA-256 of the seat's result files' SHA-256s, revealed with the score.
        bytes32 filesDigest;
    }

    struct Task {
        uint256 id;
        TaskState state;
        AbortReason abortReason;
        uint8 commits;
        uint8 errors;
        uint8 reveals;
        /// Seat index of the designated uploader (meaningful from Validated on).
        uint8 uploaderSeat;
        address creator;
        uint64 createdBlock;
        uint64 createdAt;
        uint64 startedAt;
        /// End of the current phase: seed window end (a block number) while WaitingSeed,
        /// a timestamp otherwise.
        uint64 deadline;
        uint256 fee;
        /// Part of the fee not yet paid out, refunded or held back.
        uint256 feeLeft;
        bytes32 seedCommitment;
        bytes32 seed;
        /// `keccak256(abi.encodePacked(gpuName, uint256(gpuVram)))` of the required GPU, or 0.
        bytes32 gpuId;
        TaskRequest request;
        Seat[3] seats;
        /// The agreed score (from Validated on).
        bytes result;
        /// The uploader's files digest: the exact bytes the relay and browsers accept.
        bytes32 resultDigest;
    }

    // ---------------------------------------------------------------- errors

    error NotOwner(address caller);
    error InvalidParameter(string name);
    error InvalidTask(string field);
    error PoolTooSmall(uint256 eligible, uint256 minimum);
    error FeeTooLow(uint256 fee, uint256 minimum);
    error UnknownTask(uint256 taskId);
    error WrongState(uint256 taskId, TaskState state);
    error SeedTooEarly(uint256 taskId, uint256 firstBlock);
    error SeedWindowClosed(uint256 taskId, uint256 lastBlock);
    error WrongSecret(uint256 taskId);
    error NotSelected(uint256 taskId, address caller);
    error NotCreator(uint256 taskId, address caller);
    error AlreadySubmitted(uint256 taskId, address node, SeatStatus status);
    error DeadlinePassed(uint256 taskId, uint256 deadline);
    error DeadlineNotReached(uint256 taskId, uint256 deadline);
    error NonceReused(uint256 taskId, bytes32 nonce);
    error InvalidCommitment(uint256 taskId);
    error InvalidScore(uint256 taskId, string reason);
    error CommitmentMismatch(uint256 taskId, address node);
    error InvalidReceipt(uint256 taskId);
    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- events

    event TaskCreated(
        uint256 indexed taskId,
        address indexed creator,
        bytes32 indexed taskHash,
        TaskType taskType,
        uint256 fee,
        uint64 size,
        bytes32 seedCommitment
    );
    event TaskRequirements(
        uint256 indexed taskId, string[] modelIds, uint64 minVram, string gpuName, uint64 gpuVram, uint32[3] version
    );
    event SeedRevealed(uint256 indexed taskId, bytes32 secret, bytes32 blockHash, bytes32 seed);
    event TaskQueued(uint256 indexed taskId, uint256 queueLength);
    event NodeSelected(uint256 indexed taskId, address indexed node, uint8 seat);
    event TaskStarted(uint256 indexed taskId, uint64 commitDeadline);
    event CommitmentSubmitted(
        uint256 indexed taskId, address indexed node, bytes32 commitment, bytes32 nonce, uint8 rank
    );
    event ErrorReported(uint256 indexed taskId, address indexed node, uint32 errorCode, uint8 rank);
    event RevealPhaseStarted(uint256 indexed taskId, uint64 revealDeadline);
    event ResultRevealed(uint256 indexed taskId, address indexed node, bytes score, bytes32 filesDigest, uint8 rank);
    /// A majority agreed on `result`; `uploader` must now upload the files whose digest is
    /// `filesDigest` to the relay.
    event TaskValidated(
        uint256 indexed taskId, bytes result, bytes32 filesDigest, address indexed uploader, uint64 uploadDeadline
    );
    event ResultUploaded(uint256 indexed taskId, address indexed uploader);
    event TaskAborted(uint256 indexed taskId, AbortReason reason);
    /// A node's part in the task is over: how it ended and the stake it lost.
    event SeatClosed(uint256 indexed taskId, address indexed node, NodeOutcome outcome, uint256 slashed);
    event Payment(uint256 indexed taskId, address indexed to, PaymentKind kind, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event ParamsUpdated(Params params);

    // ---------------------------------------------------------------- storage

    /// Fee split by commit order plus reveal order, out of 50 (as the reference network).
    uint256 internal constant REWARD_FIRST = 10;
    uint256 internal constant REWARD_SECOND = 9;
    uint256 internal constant REWARD_THIRD = 6;
    uint256 internal constant REWARD_TOTAL = 50;
    uint8 internal constant NO_SEAT = 255;
    /// A task names at most this many models, each id at most `MAX_MODEL_ID_BYTES` long:
    /// every draw re-checks them per candidate, so they bound its cost.
    uint256 public constant MAX_MODEL_IDS = 8;
    uint256 public constant MAX_MODEL_ID_BYTES = 128;
    /// Queued tasks tried after each settlement (by whoever settles), and at most per
    /// `processQueue` call: no call's cost grows with the queue.
    uint256 public constant AUTO_TRIES = 1;
    uint256 public constant MAX_TRIES = 8;
    uint256 internal constant MAX_QUEUE = 64;
    /// The error code of a node that could not get the task's arguments (from the relay, or
    /// not matching the task hash): reported alone, it costs the reward, never stake.
    uint32 public constant ERROR_ARGS_UNAVAILABLE = 6;

    INodeRegistry public immutable registry;
    address public owner;
    Params internal params;

    mapping(uint256 => Task) internal tasks;
    /// keccak256 of each model id of a task, computed once at creation.
    mapping(uint256 => bytes32[]) internal modelHashesOf;
    mapping(address => uint256[]) internal tasksByCreator;
    mapping(address => uint256) public withdrawable;
    uint256[] internal queue;
    uint256 public taskCount;
    uint256 public succeededCount;
    uint256 public abortedCount;

    constructor(INodeRegistry nodeRegistry, Params memory initial) {
        registry = nodeRegistry;
        owner = msg.sender;
        _setParams(initial);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- admin

    function setParams(Params calldata next) external onlyOwner {
        _setParams(next);
    }

    function getParams() external view returns (Params memory) {
        return params;
    }

    function transferOwnership(address next) external onlyOwner {
        if (next == address(0)) revert InvalidParameter("owner");
        owner = next;
    }

    function _setParams(Params memory p) internal {
        if (p.similarityThreshold == 0 || p.similarityThreshold > 64) revert InvalidParameter("similarityThreshold");
        if (p.taskTimeout == 0) revert InvalidParameter("taskTimeout");
        if (p.revealTimeout == 0) revert InvalidParameter("revealTimeout");
        if (p.uploadTimeout == 0) revert InvalidParameter("uploadTimeout");
        if (p.seedWindowBlocks == 0 || p.seedWindowBlocks > 256) revert InvalidParameter("seedWindowBlocks");
        if (p.minPoolSize < 3) revert InvalidParameter("minPoolSize");
        if (p.maxQueueSize == 0 || p.maxQueueSize > MAX_QUEUE) revert InvalidParameter("maxQueueSize");
        if (p.minFeePerUnit == 0) revert InvalidParameter("minFeePerUnit");
        if (p.seedPenaltyBps > 10_000) revert InvalidParameter("seedPenaltyBps");
        if (p.timeoutSlashBps > 10_000) revert InvalidParameter("timeoutSlashBps");
        if (p.dissentSlashBps > 10_000) revert InvalidParameter("dissentSlashBps");
        if (p.withheldSlashBps > 10_000) revert InvalidParameter("withheldSlashBps");
        if (p.treasury == address(0)) revert InvalidParameter("treasury");
        if (p.relaySigner == address(0)) revert InvalidParameter("relaySigner");
        params = p;
        emit ParamsUpdated(p);
    }

    // ---------------------------------------------------------------- requester

    /// Creates a task paid with `msg.value`.
    /// @param request what to run and on which nodes
    /// @param seedCommitment `keccak256(abi.encodePacked(secret))` of a fresh 32-byte secret
    ///        the requester reveals with `revealSeed` in a later block
    function createTask(TaskRequest calldata request, bytes32 seedCommitment) external payable returns (uint256 taskId) {
        if (request.taskType > uint8(TaskType.Llm)) revert InvalidTask("taskType");
        if (request.taskHash == bytes32(0)) revert InvalidTask("taskHash");
        if (request.size == 0) revert InvalidTask("size");
        if (msg.value < params.minFeePerUnit * request.size) {
            revert FeeTooLow(msg.value, params.minFeePerUnit * request.size);
        }
        if (request.modelIds.length > MAX_MODEL_IDS) revert InvalidTask("modelIds");
        if (seedCommitment == bytes32(0)) revert InvalidTask("seedCommitment");
        bool anyGpu = bytes(request.gpuName).length == 0;
        if (request.taskType == uint8(TaskType.Llm) && anyGpu) revert InvalidTask("gpuName");
        bytes32 gpuId = anyGpu ? bytes32(0) : keccak256(abi.encodePacked(request.gpuName, uint256(request.gpuVram)));

        taskId = ++taskCount;
        Task storage t = tasks[taskId];
        t.id = taskId;
        t.creator = msg.sender;
        t.createdBlock = uint64(block.number);
        t.createdAt = uint64(block.timestamp);
        t.deadline = uint64(block.number) + params.seedWindowBlocks;
        t.gpuId = gpuId;
        t.fee = msg.value;
        t.feeLeft = msg.value;
        t.seedCommitment = seedCommitment;
        t.request = request;
        for (uint256 i = 0; i < request.modelIds.length; i++) {
            uint256 len = bytes(request.modelIds[i]).length;
            if (len == 0 || len > MAX_MODEL_ID_BYTES) revert InvalidTask("modelIds");
            modelHashesOf[taskId].push(keccak256(bytes(request.modelIds[i])));
        }
        t.uploaderSeat = NO_SEAT;
        t.state = TaskState.WaitingSeed;

        uint256 eligible = registry.countEligible(_filter(t), params.minPoolSize);
        if (eligible < params.minPoolSize) revert PoolTooSmall(eligible, params.minPoolSize);

        tasksByCreator[msg.sender].push(taskId);
        emit TaskCreated(taskId, msg.sender, request.taskHash, TaskType(request.taskType), msg.value, request.size, seedCommitment);
        emit TaskRequirements(
            taskId, request.modelIds, request.minVram, request.gpuName, request.gpuVram, request.version
        );
    }

    /// Reveals the requester's secret in a block after creation and draws the nodes (or
    /// queues the task). Anyone holding the secret may call it.
    function revealSeed(uint256 taskId, bytes32 secret) external {
        Task storage t = _task(taskId);
        if (t.state != TaskState.WaitingSeed) revert WrongState(taskId, t.state);
        if (block.number <= t.createdBlock) revert SeedTooEarly(taskId, t.createdBlock + 1);
        if (block.number > t.deadline) revert SeedWindowClosed(taskId, t.deadline);
        if (keccak256(abi.encodePacked(secret)) != t.seedCommitment) revert WrongSecret(taskId);
        bytes32 blockHash = blockhash(t.createdBlock);
        t.seed = keccak256(abi.encodePacked(secret, blockHash, taskId));
        emit SeedRevealed(taskId, secret, blockHash, t.seed);
        if (!_tryStart(t)) _enqueue(t);
    }

    // ---------------------------------------------------------------- nodes

    /// Commits to a result: `commitment = keccak256(abi.encodePacked(score, filesDigest,
    /// nonce))`, `filesDigest` the SHA-256 of the result files' SHA-256s. A nonce another
    /// node of the task already used is refused.
    function submitCommitment(uint256 taskId, bytes32 commitment, bytes32 nonce) external {
        (Task storage t, Seat storage s) = _openSeat(taskId);
        if (commitment == bytes32(0)) revert InvalidCommitment(taskId);
        for (uint256 i = 0; i < 3; i++) {
            if (t.seats[i].status != SeatStatus.Selected && t.seats[i].nonce == nonce) revert NonceReused(taskId, nonce);
        }
        s.status = SeatStatus.Committed;
        s.commitment = commitment;
        s.nonce = nonce;
        s.commitRank = t.commits + t.errors;
        t.commits += 1;
        emit CommitmentSubmitted(taskId, msg.sender, commitment, nonce, s.commitRank);
        if (t.commits + t.errors == 3) _openReveals(t);
    }

    /// Reports that the node could not run the task. Two error reports abort it; a lone
    /// error report while the two other nodes agree costs `timeoutSlashBps` of stake,
    /// except `ERROR_ARGS_UNAVAILABLE`, which costs only the reward.
    function reportError(uint256 taskId, uint32 errorCode) external {
        (Task storage t, Seat storage s) = _openSeat(taskId);
        s.status = SeatStatus.Errored;
        s.errorCode = errorCode;
        s.commitRank = t.commits + t.errors;
        t.errors += 1;
        emit ErrorReported(taskId, msg.sender, errorCode, s.commitRank);
        if (t.errors >= 2) {
            _abort(t, AbortReason.TooManyErrors);
            _processQueue(AUTO_TRIES);
        } else if (t.commits + t.errors == 3) {
            _openReveals(t);
        }
    }

    /// Reveals the score and files digest committed to. SD scores are 8 bytes per image,
    /// LLM scores 32 bytes per file; empty or all-zero scores are refused.
    function revealResult(uint256 taskId, bytes calldata score, bytes32 filesDigest) external {
        Task storage t = _task(taskId);
        if (t.state != TaskState.Revealing) revert WrongState(taskId, t.state);
        if (block.timestamp >= t.deadline) revert DeadlinePassed(taskId, t.deadline);
        Seat storage s = t.seats[_seatIndex(t, msg.sender)];
        if (s.status != SeatStatus.Committed) revert AlreadySubmitted(taskId, msg.sender, s.status);
        _checkScore(t, score);
        if (filesDigest == bytes32(0)) revert InvalidScore(taskId, "files digest zero");
        if (keccak256(abi.encodePacked(score, filesDigest, s.nonce)) != s.commitment) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        s.status = SeatStatus.Revealed;
        s.score = score;
        s.filesDigest = filesDigest;
        s.revealRank = t.reveals;
        t.reveals += 1;
        emit ResultRevealed(taskId, msg.sender, score, filesDigest, s.revealRank);
        if (t.reveals == t.commits) {
            _settle(t);
            _processQueue(AUTO_TRIES);
        }
    }

    /// Reports that the result files are on the relay, proven by the relay's `receipt`: its
    /// signature (EIP-191) over `keccak256(abi.encodePacked("Tessera upload receipt",
    /// chainId, this contract, taskId, resultDigest))`, which it gives only once it holds
    /// files with exactly that digest. Anyone holding the receipt may report (the uploader
    /// normally; the relay or the requester if it does not); the uploader's reward, held
    /// back until now, is paid.
    function reportResultsUploaded(uint256 taskId, bytes calldata receipt) external {
        Task storage t = _task(taskId);
        if (t.state != TaskState.Validated) revert WrongState(taskId, t.state);
        bytes32 hash = keccak256(
            abi.encodePacked("Tessera upload receipt", block.chainid, address(this), taskId, t.resultDigest)
        );
        if (_recover(hash, receipt) != params.relaySigner) revert InvalidReceipt(taskId);
        Seat storage s = t.seats[t.uploaderSeat];
        t.state = TaskState.Success;
        succeededCount += 1;
        emit ResultUploaded(taskId, s.node);
        _pay(t, s.node, _share(t, s), PaymentKind.Reward);
        _release(t, t.uploaderSeat, NodeOutcome.Success, 0);
        _refundRest(t);
        _processQueue(AUTO_TRIES);
    }

    // ---------------------------------------------------------------- timeouts

    /// Moves a task past a deadline that has passed. Anyone may call it for a task waiting
    /// for its seed (after the seed window, the requester loses `seedPenaltyBps` of the fee),
    /// running (silent nodes are slashed `timeoutSlashBps`), revealing (nodes that committed
    /// but did not reveal are slashed `withheldSlashBps`) or validated (the uploader loses
    /// its held share and health, not stake: a relay refusing it looks the same) or queued past its expiry (refunded in full); its creator
    /// may also withdraw a queued task at any time.
    function cancelTask(uint256 taskId) external {
        Task storage t = _task(taskId);
        TaskState st = t.state;
        if (st == TaskState.WaitingSeed) {
            if (block.number <= t.deadline) revert DeadlineNotReached(taskId, t.deadline);
            uint256 penalty = t.fee * params.seedPenaltyBps / 10_000;
            _pay(t, params.treasury, penalty, PaymentKind.Penalty);
            _abort(t, AbortReason.SeedNotRevealed);
            return;
        }
        if (st == TaskState.Queued) {
            if (msg.sender != t.creator && block.timestamp < t.deadline) {
                revert DeadlineNotReached(taskId, t.deadline);
            }
            _dequeue(taskId);
            _abort(t, AbortReason.QueueTimeout);
            return;
        }
        if (st != TaskState.Running && st != TaskState.Revealing && st != TaskState.Validated) {
            revert WrongState(taskId, st);
        }
        if (block.timestamp < t.deadline) revert DeadlineNotReached(taskId, t.deadline);

        if (st == TaskState.Running) {
            for (uint8 i = 0; i < 3; i++) {
                if (t.seats[i].status == SeatStatus.Selected) {
                    t.seats[i].status = SeatStatus.TimedOut;
                    _release(t, i, NodeOutcome.Timeout, params.timeoutSlashBps);
                }
            }
            _openReveals(t);
        } else if (st == TaskState.Revealing) {
            for (uint8 i = 0; i < 3; i++) {
                if (t.seats[i].status == SeatStatus.Committed) {
                    t.seats[i].status = SeatStatus.Withheld;
                    _release(t, i, NodeOutcome.Withheld, params.withheldSlashBps);
                }
            }
            _settle(t);
        } else {
            _release(t, t.uploaderSeat, NodeOutcome.UploadMissed, 0);
            _abort(t, AbortReason.UploadMissed);
        }
        _processQueue(AUTO_TRIES);
    }

    /// Tries up to `maxTries` (at most `MAX_TRIES`) queued tasks, best fee per unit first:
    /// starts those for which enough eligible nodes are free and expires those past their
    /// deadline (refunded). Anyone may call it (nodes do after resuming).
    function processQueue(uint256 maxTries) external returns (uint256 started) {
        return _processQueue(maxTries > MAX_TRIES ? MAX_TRIES : maxTries);
    }

    /// Pays the caller its credited rewards and refunds.
    function withdraw() external {
        uint256 amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        withdrawable[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    function getTask(uint256 taskId) external view returns (Task memory) {
        return _task(taskId);
    }

    function getTaskIdsByCreator(address creator) external view returns (uint256[] memory) {
        return tasksByCreator[creator];
    }

    /// Queued task ids (unordered; order them by fee / size).
    function getQueue() external view returns (uint256[] memory) {
        return queue;
    }

    /// Index (0..2) of `node`'s seat in the task, or reverts with `NotSelected`.
    function seatOf(uint256 taskId, address node) external view returns (uint8) {
        return _seatIndex(_task(taskId), node);
    }

    /// (tasks created, queued now, succeeded, aborted).
    function getStats() external view returns (uint256 created, uint256 queued, uint256 succeeded, uint256 aborted) {
        return (taskCount, queue.length, succeededCount, abortedCount);
    }

    /// Whether two scores agree under this task type's rule: SD scores when every 8-byte
    /// block differs in fewer than `similarityThreshold` bits, LLM scores when equal.
    function scoresAgree(uint8 taskType, bytes memory a, bytes memory b) public view returns (bool) {
        if (a.length != b.length || a.length % 8 != 0) return false;
        if (taskType == uint8(TaskType.Llm)) return keccak256(a) == keccak256(b);
        uint256 threshold = params.similarityThreshold;
        for (uint256 off = 0; off < a.length; off += 8) {
            uint64 x;
            uint64 y;
            assembly {
                x := shr(192, mload(add(add(a, 32), off)))
                y := shr(192, mload(add(add(b, 32), off)))
            }
            if (_popcount(x ^ y) >= threshold) return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- internals

    function _task(uint256 taskId) internal view returns (Task storage t) {
        t = tasks[taskId];
        if (t.state == TaskState.None) revert UnknownTask(taskId);
    }

    function _seatIndex(Task storage t, address node) internal view returns (uint8) {
        for (uint8 i = 0; i < 3; i++) {
            if (t.seats[i].node == node && node != address(0)) return i;
        }
        revert NotSelected(t.id, node);
    }

    /// The caller's seat in a running task before its deadline, not yet committed.
    function _openSeat(uint256 taskId) internal view returns (Task storage t, Seat storage s) {
        t = _task(taskId);
        if (t.state != TaskState.Running) revert WrongState(taskId, t.state);
        if (block.timestamp >= t.deadline) revert DeadlinePassed(taskId, t.deadline);
        s = t.seats[_seatIndex(t, msg.sender)];
        if (s.status != SeatStatus.Selected) revert AlreadySubmitted(taskId, msg.sender, s.status);
    }

    function _filter(Task storage t) internal view returns (NodeFilter memory f) {
        f.minVram = t.request.minVram;
        f.gpuId = t.gpuId;
        f.version = t.request.version;
        f.creator = t.creator;
        f.modelHashes = modelHashesOf[t.id];
    }

    function _checkScore(Task storage t, bytes calldata score) internal view {
        if (score.length == 0) revert InvalidScore(t.id, "empty");
        uint256 unit = t.request.taskType == uint8(TaskType.Llm) ? 32 : 8;
        if (score.length % unit != 0) {
            revert InvalidScore(t.id, unit == 8 ? "length not a multiple of 8" : "length not a multiple of 32");
        }
        for (uint256 i = 0; i < score.length; i++) {
            if (score[i] != 0) return;
        }
        revert InvalidScore(t.id, "all zero");
    }

    /// Draws the seats. A seed just revealed was unknown when the creation block ended:
    /// the nodes free before it are the candidates. A queued task's seed is public: the
    /// candidates are the nodes free before this block (and the registry mixes in this
    /// block's RANDAO value).
    function _tryStart(Task storage t) internal returns (bool) {
        (bool ok, address[3] memory chosen) = registry.selectNodes(
            _filter(t), t.seed, t.id, params.minPoolSize, t.state == TaskState.Queued ? block.number : t.createdBlock
        );
        if (!ok) return false;
        t.state = TaskState.Running;
        t.startedAt = uint64(block.timestamp);
        t.deadline = uint64(block.timestamp) + params.taskTimeout + params.taskTimeoutPerUnit * (t.request.size - 1);
        for (uint8 i = 0; i < 3; i++) {
            t.seats[i].node = chosen[i];
            t.seats[i].status = SeatStatus.Selected;
            emit NodeSelected(t.id, chosen[i], i);
        }
        emit TaskStarted(t.id, t.deadline);
        return true;
    }

    /// Whether task `a` pays more per unit of work than task `b` (earlier id wins ties).
    function _before(Task storage a, Task storage b) internal view returns (bool) {
        uint256 l = a.fee * b.request.size;
        uint256 r = b.fee * a.request.size;
        return l > r || (l == r && a.id < b.id);
    }

    function _enqueue(Task storage t) internal {
        if (queue.length >= params.maxQueueSize) {
            // The victim: an expired task if there is one, else the cheapest per unit.
            uint256 worst = 0;
            bool expired = block.timestamp >= tasks[queue[0]].deadline;
            for (uint256 i = 1; i < queue.length && !expired; i++) {
                if (block.timestamp >= tasks[queue[i]].deadline) {
                    worst = i;
                    expired = true;
                } else if (_before(tasks[queue[worst]], tasks[queue[i]])) {
                    worst = i;
                }
            }
            Task storage w = tasks[queue[worst]];
            if (!expired && !_before(t, w)) {
                _abort(t, AbortReason.QueueFull);
                return;
            }
            queue[worst] = queue[queue.length - 1];
            queue.pop();
            _abort(w, expired ? AbortReason.QueueTimeout : AbortReason.Evicted);
        }
        queue.push(t.id);
        t.state = TaskState.Queued;
        t.deadline = uint64(block.timestamp) + params.taskTimeout;
        emit TaskQueued(t.id, queue.length);
    }

    function _dequeue(uint256 taskId) internal {
        for (uint256 i = 0; i < queue.length; i++) {
            if (queue[i] == taskId) {
                queue[i] = queue[queue.length - 1];
                queue.pop();
                return;
            }
        }
    }

    /// Tries at most `maxTries` queued tasks, each the best per unit of work not yet tried
    /// in this call: an expired one is refunded, another starts if the draw finds nodes.
    /// Work per call: `maxTries` scans of the bounded queue and `maxTries` bounded draws.
    function _processQueue(uint256 maxTries) internal returns (uint256 started) {
        uint256[] memory tried = new uint256[](maxTries);
        for (uint256 k = 0; k < maxTries; k++) {
            uint256 best = 0;
            bool bestExpired = false;
            for (uint256 i = 0; i < queue.length; i++) {
                uint256 id = queue[i];
                bool seen = false;
                for (uint256 j = 0; j < k; j++) {
                    if (tried[j] == id) seen = true;
                }
                if (seen) continue;
                // Expired tasks first (refunding is cheap and frees a place), then by fee.
                bool expired = block.timestamp >= tasks[id].deadline;
                if (best == 0 || (expired && !bestExpired) || (expired == bestExpired && _before(tasks[id], tasks[best]))) {
                    best = id;
                    bestExpired = expired;
                }
            }
            if (best == 0) break;
            tried[k] = best;
            Task storage t = tasks[best];
            if (bestExpired) {
                _dequeue(best);
                _abort(t, AbortReason.QueueTimeout);
            } else {
                // No draw can succeed with fewer than three free nodes: stop paying for tries.
                if (registry.availableCount() < 3) break;
                if (_tryStart(t)) {
                    _dequeue(best);
                    started++;
                }
            }
        }
    }

    function _openReveals(Task storage t) internal {
        if (t.commits < 2) {
            _abort(t, AbortReason.TooFewCommitments);
            return;
        }
        t.state = TaskState.Revealing;
        t.deadline = uint64(block.timestamp) + params.revealTimeout;
        emit RevealPhaseStarted(t.id, t.deadline);
    }

    /// Compares the revealed scores and settles: a node agreeing with at least one other
    /// wins; a node agreeing with none while two others agree is slashed.
    function _settle(Task storage t) internal {
        uint8[3] memory agreeCount;
        uint256 revealed;
        for (uint8 i = 0; i < 3; i++) {
            if (t.seats[i].status != SeatStatus.Revealed) continue;
            revealed++;
            for (uint8 j = i + 1; j < 3; j++) {
                if (
                    t.seats[j].status == SeatStatus.Revealed
                        && scoresAgree(t.request.taskType, t.seats[i].score, t.seats[j].score)
                ) {
                    agreeCount[i]++;
                    agreeCount[j]++;
                }
            }
        }
        if (revealed < 2) {
            _abort(t, AbortReason.TooFewReveals);
            return;
        }

        // The result: the winner agreeing with most others, the earliest commitment on ties.
        uint8 best = NO_SEAT;
        for (uint8 i = 0; i < 3; i++) {
            if (agreeCount[i] == 0) continue;
            if (
                best == NO_SEAT || agreeCount[i] > agreeCount[best]
                    || (agreeCount[i] == agreeCount[best] && t.seats[i].commitRank < t.seats[best].commitRank)
            ) best = i;
        }
        if (best == NO_SEAT) {
            _abort(t, AbortReason.NoMajority);
            return;
        }

        t.state = TaskState.Validated;
        t.result = t.seats[best].score;
        t.resultDigest = t.seats[best].filesDigest;
        t.uploaderSeat = best;
        t.deadline = uint64(block.timestamp) + params.uploadTimeout;
        emit TaskValidated(t.id, t.result, t.resultDigest, t.seats[best].node, t.deadline);

        for (uint8 i = 0; i < 3; i++) {
            Seat storage s = t.seats[i];
            if (s.released) continue;
            if (agreeCount[i] > 0) {
                // The uploader's reward is held until it reports the upload.
                if (i == best) {
                    t.feeLeft -= _share(t, s);
                } else {
                    _pay(t, s.node, _share(t, s), PaymentKind.Reward);
                    _release(t, i, NodeOutcome.Success, 0);
                }
            } else if (s.status == SeatStatus.Revealed) {
                _release(t, i, NodeOutcome.Dissent, params.dissentSlashBps);
            } else if (s.status == SeatStatus.Errored) {
                // "Arguments unavailable" costs no stake, only the reward: otherwise a relay
                // or requester withholding them from one seat would get it slashed.
                bool unavailable = s.errorCode == ERROR_ARGS_UNAVAILABLE;
                _release(
                    t,
                    i,
                    unavailable ? NodeOutcome.NoFault : NodeOutcome.Errored,
                    unavailable ? 0 : params.timeoutSlashBps
                );
            }
        }
        // The fee not earned (a missing or slashed node's share) goes back to the creator
        // now; the uploader's share, held back, follows the upload.
        _refundRest(t);
        t.feeLeft = _share(t, t.seats[best]);
    }

    /// A winning seat's reward: (commit-order share + reveal-order share) / 50 of the fee.
    function _share(Task storage t, Seat storage s) internal view returns (uint256) {
        return t.fee * (_rankReward(s.commitRank) + _rankReward(s.revealRank)) / REWARD_TOTAL;
    }

    function _rankReward(uint8 rank) internal pure returns (uint256) {
        return rank == 0 ? REWARD_FIRST : (rank == 1 ? REWARD_SECOND : REWARD_THIRD);
    }

    function _abort(Task storage t, AbortReason reason) internal {
        for (uint8 i = 0; i < 3; i++) {
            if (t.seats[i].node != address(0) && !t.seats[i].released) _release(t, i, NodeOutcome.NoFault, 0);
        }
        t.state = TaskState.Aborted;
        t.abortReason = reason;
        abortedCount += 1;
        emit TaskAborted(t.id, reason);
        _refundRest(t);
    }

    function _release(Task storage t, uint8 seat, NodeOutcome outcome, uint256 slashBps) internal {
        Seat storage s = t.seats[seat];
        s.released = true;
        uint256 slashed = registry.releaseNode(s.node, t.id, outcome, s.commitRank, slashBps);
        emit SeatClosed(t.id, s.node, outcome, slashed);
    }

    function _pay(Task storage t, address to, uint256 amount, PaymentKind kind) internal {
        if (amount == 0) return;
        t.feeLeft -= amount;
        withdrawable[to] += amount;
        emit Payment(t.id, to, kind, amount);
    }

    function _refundRest(Task storage t) internal {
        _pay(t, t.creator, t.feeLeft, PaymentKind.Refund);
    }

    /// The signer of an EIP-191 personal-message signature over `hash` (65 bytes `r ‖ s ‖
    /// v`), or zero for a malformed or malleable (high-s) signature.
    function _recover(bytes32 hash, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", hash));
        return ecrecover(digest, v, r, s);
    }

    function _popcount(uint64 x) internal pure returns (uint256) {
        x = x - ((x >> 1) & 0x5555555555555555);
        x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
        x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
        unchecked {
            return uint256((x * 0x0101010101010101) >> 56);
        }
    }
}
