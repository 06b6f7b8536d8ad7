// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

import {NodeFilter, NodeOutcome} from "./Types.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {TaskManager} from "./TaskManager.sol";

/// @title Appeals
/// @notice A second opinion on a settled 2-of-3 task. The outvoted seat (or the task's
/// creator) appeals with a bond; a jury of `jurySize` more nodes, drawn at random from the
/// whole eligible pool (never the task's seats or creator), runs the same task and
/// commits and reveals like seats do; the jury's majority decides, and every node on the
/// losing side (the two seats or the dissenter, and jurors who voted with them) loses
/// `loserSlashBps` of its stake. The losers pay the wronged: the creator's fee and the
/// dissenter's slash come back when the jury overturns, and every juror on the winning
/// side earns `bond / jurySize` for its work; what is left goes to the treasury, never to
/// the winners, so winning an appeal is restitution, not a prize worth attacking for.
///
/// Why: seats are public before anyone commits, so two colluders holding two seats can
/// commit any valid score, outvote the honest third and have it slashed, with nothing at
/// risk. With an appeal they win only if they also hold most of a jury they cannot choose,
/// and otherwise lose half their stake each. `contracts/README.md` gives the expected
/// values; `cargo xtask bench attacks` measures them.
///
/// Randomness: the appellant commits `keccak256(secret)` with the appeal and reveals it in
/// `drawJury` in a later block; `seed = keccak256(secret, blockhash(filedBlock), taskId)`.
/// Not revealing within `drawWindowBlocks` forfeits the bond and ends the appeal, so the
/// appellant cannot re-roll a jury it dislikes; one appeal per task.
///
/// Timing: the losers' stake must still be there when the jury decides, so the appeal
/// window plus the jury's deadlines must stay well under the registry's unbonding delay
/// (`setParams` checks `appealWindow + uploadTimeout + 2 × (taskTimeout + revealTimeout)`
/// against it at the time it is set).
contract Appeals {
    // ---------------------------------------------------------------- types

    struct Params {
        /// Seconds after a task's upload deadline during which it may be appealed.
        uint64 appealWindow;
        /// Blocks after the appeal within which the appellant must reveal its secret (<= 256).
        uint64 drawWindowBlocks;
        /// Jurors drawn per appeal (odd, 3..MAX_JURY).
        uint64 jurySize;
        /// The bond: `max(minBond, fee × jurySize × bondPerJurorBps / 10_000)`. It pays the
        /// jury when the appeal fails and comes back when it succeeds.
        uint256 minBond;
        uint16 bondPerJurorBps;
        /// Share of stake each node on the losing side of a decided appeal loses.
        uint16 loserSlashBps;
    }

    enum AppealState {
        None,
        /// Filed; waiting for the appellant's secret and enough free jurors.
        Drawing,
        /// Jurors drawn; waiting for their commitments.
        Judging,
        /// Commitments in; waiting for the jurors' reveals.
        Revealing,
        /// The jury agreed with the dissenter: the two seats lost.
        Overturned,
        /// The jury agreed with the majority: the dissenter lost.
        Upheld,
        /// No juror revealed a score agreeing with either side, or no jury could be drawn
        /// in time after the secret was revealed: the bond is refunded.
        Void,
        /// The appellant did not reveal its secret in time: the bond goes to the treasury.
        Forfeited
    }

    enum JurorStatus {
        Empty,
        Selected,
        Committed,
        Revealed,
        TimedOut,
        Withheld,
        /// Reported that it cannot run the task (`reportJuryError`).
        Errored
    }

    /// How a revealed juror voted.
    enum Vote {
        None,
        /// Agrees with the task's result (and not with the dissent).
        Majority,
        /// Agrees with the dissenting seat's score (and not with the result).
        Dissent,
        /// Agrees with both (SD scores within the threshold of each): it wins either way.
        Both,
        /// Agrees with neither: a third result, on the losing side either way.
        Neither
    }

    struct Juror {
        address node;
        JurorStatus status;
        Vote vote;
        uint8 commitRank;
        bytes32 commitment;
        bytes32 nonce;
        bytes score;
    }

    struct Appeal {
        AppealState state;
        /// Seat index (0..2) of the dissenting seat.
        uint8 dissenter;
        uint8 commits;
        /// Jurors that reported an error instead of committing.
        uint8 errors;
        uint8 reveals;
        uint8 majorityVotes;
        uint8 dissentVotes;
        address appellant;
        uint64 filedBlock;
        /// End of the current phase: the last block for the secret while Drawing, a
        /// timestamp while Judging or Revealing.
        uint64 deadline;
        uint256 bond;
        bytes32 secretCommitment;
        bytes32 seed;
        /// Stake the losers lost, shared among the winners.
        uint256 pot;
        Juror[] jurors;
    }

    enum PaymentKind {
        /// A juror on the winning side: `bond / jurySize` for its work.
        JurorPay,
        /// The appellant's bond back.
        BondRefund,
        /// The task's fee back to its creator out of the pot, when the jury overturns.
        FeeRefund,
        /// The dissenter's slash back, when the jury overturns.
        Restitution,
        /// A forfeited bond or what the wronged did not need, to the treasury.
        Treasury
    }

    // ---------------------------------------------------------------- errors

    error NotAppealsOwner(address caller);
    error InvalidAppealParameter(string name);
    error NothingToAppeal(uint256 taskId);
    error AppealWindowClosed(uint256 taskId, uint256 end);
    error AlreadyAppealed(uint256 taskId);
    error NotEntitled(uint256 taskId, address caller);
    error BondTooLow(uint256 sent, uint256 bond);
    error AppealWrongState(uint256 taskId, AppealState state);
    error DrawTooEarly(uint256 taskId, uint256 firstBlock);
    error WrongAppealSecret(uint256 taskId);
    error NotJuror(uint256 taskId, address caller);
    error JurorAlreadySubmitted(uint256 taskId, address node, JurorStatus status);
    error JuryDeadlinePassed(uint256 taskId, uint256 deadline);
    error JuryDeadlineNotReached(uint256 taskId, uint256 deadline);
    error JuryNonceReused(uint256 taskId, bytes32 nonce);
    error JuryCommitmentMismatch(uint256 taskId, address node);
    error InvalidJuryScore(uint256 taskId, string reason);
    error NothingToClaim(address account);
    error AppealTransferFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- events

    event AppealFiled(
        uint256 indexed taskId, address indexed appellant, address indexed dissenter, uint256 bond, bytes32 secretCommitment
    );
    event JurySeed(uint256 indexed taskId, bytes32 secret, bytes32 blockHash, bytes32 seed);
    event JurorSelected(uint256 indexed taskId, address indexed node, uint8 index);
    event JuryStarted(uint256 indexed taskId, uint64 commitDeadline);
    event JuryErrorReported(uint256 indexed taskId, address indexed node, uint32 errorCode);
    event JuryCommitted(uint256 indexed taskId, address indexed node, bytes32 commitment, bytes32 nonce, uint8 rank);
    event JuryRevealPhase(uint256 indexed taskId, uint64 revealDeadline);
    event JuryRevealed(uint256 indexed taskId, address indexed node, bytes score, bytes32 filesDigest, Vote vote);
    /// The appeal ended: how, the votes, and the stake the losers lost.
    event AppealDecided(uint256 indexed taskId, AppealState outcome, uint8 majorityVotes, uint8 dissentVotes, uint256 pot);
    event AppealPayment(uint256 indexed taskId, address indexed to, PaymentKind kind, uint256 amount);
    event Claimed(address indexed account, uint256 amount);
    event AppealParamsUpdated(Params params);

    // ---------------------------------------------------------------- storage

    uint256 public constant MAX_JURY = 9;
    /// A juror's registry task id: the task's id with the top bit set, so a node's
    /// `currentTask` tells jury duty from a seat.
    uint256 public constant JURY_BIT = 1 << 255;

    NodeRegistry public immutable registry;
    TaskManager public immutable tasks;
    address public owner;
    Params internal params;
    mapping(uint256 => Appeal) internal appeals;
    mapping(address => uint256) public claimable;

    constructor(NodeRegistry nodeRegistry, TaskManager taskManager, Params memory initial) {
        registry = nodeRegistry;
        tasks = taskManager;
        owner = msg.sender;
        _setParams(initial);
    }

    receive() external payable {
        // Slashed stake arrives from the registry while an appeal is decided.
        if (msg.sender != address(registry)) revert NotEntitled(0, msg.sender);
    }

    // ---------------------------------------------------------------- admin

    function setParams(Params calldata next) external {
        if (msg.sender != owner) revert NotAppealsOwner(msg.sender);
        _setParams(next);
    }

    function getParams() external view returns (Params memory) {
        return params;
    }

    function _setParams(Params memory p) internal {
        if (p.appealWindow == 0) revert InvalidAppealParameter("appealWindow");
        if (p.drawWindowBlocks == 0 || p.drawWindowBlocks > 256) revert InvalidAppealParameter("drawWindowBlocks");
        if (p.jurySize < 3 || p.jurySize > MAX_JURY || p.jurySize % 2 == 0) revert InvalidAppealParameter("jurySize");
        if (p.minBond == 0) revert InvalidAppealParameter("minBond");
        if (p.loserSlashBps > 10_000) revert InvalidAppealParameter("loserSlashBps");
        TaskManager.Params memory tp = tasks.getParams();
        uint256 longest = uint256(p.appealWindow) + tp.uploadTimeout + 2 * (uint256(tp.taskTimeout) + tp.revealTimeout);
        if (longest >= registry.getParams().unbondingDelay) revert InvalidAppealParameter("appealWindow");
        params = p;
        emit AppealParamsUpdated(p);
    }

    // ---------------------------------------------------------------- appellant

    /// The bond an appeal of `taskId` needs.
    function bondFor(uint256 taskId) public view returns (uint256) {
        uint256 b = tasks.getTask(taskId).fee * params.jurySize * params.bondPerJurorBps / 10_000;
        return b > params.minBond ? b : params.minBond;
    }

    /// The end (a timestamp) of the window in which `taskId` may be appealed.
    function appealDeadline(uint256 taskId) public view returns (uint256) {
        return uint256(tasks.getTask(taskId).deadline) + params.appealWindow;
    }

    /// Appeals a settled task in which one revealed seat was outvoted. Only that seat's
    /// node or the task's creator may appeal, with at least `bondFor(taskId)` as value.
    /// @param secretCommitment `keccak256(abi.encodePacked(secret))`, revealed in `drawJury`
    function appeal(uint256 taskId, bytes32 secretCommitment) external payable {
        Appeal storage a = appeals[taskId];
        if (a.state != AppealState.None) revert AlreadyAppealed(taskId);
        TaskManager.Task memory t = tasks.getTask(taskId);
        uint8 d = _dissenter(t);
        if (d == 3) revert NothingToAppeal(taskId);
        uint256 end = uint256(t.deadline) + params.appealWindow;
        if (block.timestamp >= end) revert AppealWindowClosed(taskId, end);
        if (msg.sender != t.seats[d].node && msg.sender != t.creator) revert NotEntitled(taskId, msg.sender);
        uint256 bond = bondFor(taskId);
        if (msg.value < bond) revert BondTooLow(msg.value, bond);
        if (secretCommitment == bytes32(0)) revert WrongAppealSecret(taskId);
        a.state = AppealState.Drawing;
        a.dissenter = d;
        a.appellant = msg.sender;
        a.filedBlock = uint64(block.number);
        a.deadline = uint64(block.number) + params.drawWindowBlocks;
        a.bond = msg.value;
        a.secretCommitment = secretCommitment;
        emit AppealFiled(taskId, msg.sender, t.seats[d].node, msg.value, secretCommitment);
    }

    /// Reveals the appellant's secret (once; later calls may pass anything) and draws the
    /// jury from the eligible free nodes. Returns false, changing nothing but the seed,
    /// while fewer than `jurySize` qualify; anyone may call it again until the window ends.
    function drawJury(uint256 taskId, bytes32 secret) external returns (bool drawn) {
        Appeal storage a = appeals[taskId];
        if (a.state != AppealState.Drawing) revert AppealWrongState(taskId, a.state);
        if (block.number <= a.filedBlock) revert DrawTooEarly(taskId, a.filedBlock + 1);
        if (block.number > a.deadline) revert JuryDeadlinePassed(taskId, a.deadline);
        // The first try draws with the fresh seed from the nodes free before the filing
        // block; a retry's seed is public, so it draws from the nodes free before this
        // block (and the registry mixes in this block's RANDAO value).
        uint256 fixedBefore = block.number;
        if (a.seed == bytes32(0)) {
            if (keccak256(abi.encodePacked(secret)) != a.secretCommitment) revert WrongAppealSecret(taskId);
            bytes32 blockHash = blockhash(a.filedBlock);
            a.seed = keccak256(abi.encodePacked(secret, blockHash, taskId));
            fixedBefore = a.filedBlock;
            emit JurySeed(taskId, secret, blockHash, a.seed);
        }
        TaskManager.Task memory t = tasks.getTask(taskId);
        address[3] memory exclude = [t.seats[0].node, t.seats[1].node, t.seats[2].node];
        (bool ok, address[] memory chosen) =
            registry.selectJury(_filter(t), a.seed, taskId | JURY_BIT, exclude, params.jurySize, fixedBefore);
        if (!ok) return false;
        for (uint8 i = 0; i < chosen.length; i++) {
            a.jurors.push(Juror(chosen[i], JurorStatus.Selected, Vote.None, 0, 0, 0, ""));
            emit JurorSelected(taskId, chosen[i], i);
        }
        TaskManager.Params memory tp = tasks.getParams();
        a.state = AppealState.Judging;
        a.deadline = uint64(block.timestamp) + tp.taskTimeout + tp.taskTimeoutPerUnit * (t.request.size - 1);
        emit JuryStarted(taskId, a.deadline);
        return true;
    }

    // ---------------------------------------------------------------- jurors

    /// A juror's commitment, as a seat's: `keccak256(abi.encodePacked(score, filesDigest,
    /// nonce))`; a nonce another juror used is refused.
    function submitJuryCommitment(uint256 taskId, bytes32 commitment, bytes32 nonce) external {
        Appeal storage a = appeals[taskId];
        if (a.state != AppealState.Judging) revert AppealWrongState(taskId, a.state);
        if (block.timestamp >= a.deadline) revert JuryDeadlinePassed(taskId, a.deadline);
        Juror storage j = a.jurors[_jurorIndex(a, taskId, msg.sender)];
        if (j.status != JurorStatus.Selected) revert JurorAlreadySubmitted(taskId, msg.sender, j.status);
        if (commitment == bytes32(0)) revert JuryCommitmentMismatch(taskId, msg.sender);
        for (uint256 i = 0; i < a.jurors.length; i++) {
            if (a.jurors[i].status == JurorStatus.Committed && a.jurors[i].nonce == nonce) {
                revert JuryNonceReused(taskId, nonce);
            }
        }
        j.status = JurorStatus.Committed;
        j.commitment = commitment;
        j.nonce = nonce;
        j.commitRank = a.commits;
        a.commits += 1;
        emit JuryCommitted(taskId, msg.sender, commitment, nonce, j.commitRank);
        if (a.commits + a.errors == a.jurors.length) _openReveals(taskId, a);
    }

    /// A juror reports that it cannot run the task, as a seat would: it leaves the jury at
    /// once. `ERROR_ARGS_UNAVAILABLE` (the arguments could not be had) costs no stake, so
    /// withholding them cannot be aimed at a juror; any other code costs `timeoutSlashBps`.
    function reportJuryError(uint256 taskId, uint32 errorCode) external {
        Appeal storage a = appeals[taskId];
        if (a.state != AppealState.Judging) revert AppealWrongState(taskId, a.state);
        if (block.timestamp >= a.deadline) revert JuryDeadlinePassed(taskId, a.deadline);
        Juror storage j = a.jurors[_jurorIndex(a, taskId, msg.sender)];
        if (j.status != JurorStatus.Selected) revert JurorAlreadySubmitted(taskId, msg.sender, j.status);
        j.status = JurorStatus.Errored;
        a.errors += 1;
        emit JuryErrorReported(taskId, msg.sender, errorCode);
        bool unavailable = errorCode == tasks.ERROR_ARGS_UNAVAILABLE();
        registry.releaseNode(
            msg.sender,
            taskId | JURY_BIT,
            unavailable ? NodeOutcome.NoFault : NodeOutcome.Errored,
            0,
            unavailable ? 0 : tasks.getParams().timeoutSlashBps
        );
        if (a.commits + a.errors == a.jurors.length) {
            if (a.commits > 0) _openReveals(taskId, a);
            else _decide(taskId, a, tasks.getTask(taskId));
        }
    }

    /// Reveals a juror's committed score and files digest; the last reveal decides.
    function revealJuryResult(uint256 taskId, bytes calldata score, bytes32 filesDigest) external {
        Appeal storage a = appeals[taskId];
        if (a.state != AppealState.Revealing) revert AppealWrongState(taskId, a.state);
        if (block.timestamp >= a.deadline) revert JuryDeadlinePassed(taskId, a.deadline);
        Juror storage j = a.jurors[_jurorIndex(a, taskId, msg.sender)];
        if (j.status != JurorStatus.Committed) revert JurorAlreadySubmitted(taskId, msg.sender, j.status);
        if (score.length == 0) revert InvalidJuryScore(taskId, "empty");
        if (keccak256(abi.encodePacked(score, filesDigest, j.nonce)) != j.commitment) {
            revert JuryCommitmentMismatch(taskId, msg.sender);
        }
        TaskManager.Task memory t = tasks.getTask(taskId);
        bool withMajority = tasks.scoresAgree(t.request.taskType, score, t.result);
        bool withDissent = tasks.scoresAgree(t.request.taskType, score, t.seats[a.dissenter].score);
        Vote v = withMajority
            ? (withDissent ? Vote.Both : Vote.Majority)
            : (withDissent ? Vote.Dissent : Vote.Neither);
        j.status = JurorStatus.Revealed;
        j.score = score;
        j.vote = v;
        a.reveals += 1;
        if (v == Vote.Majority) a.majorityVotes += 1;
        if (v == Vote.Dissent) a.dissentVotes += 1;
        emit JuryRevealed(taskId, msg.sender, score, filesDigest, v);
        if (a.reveals == a.commits) _decide(taskId, a, t);
    }

    // ---------------------------------------------------------------- deadlines

    /// Moves an appeal past a deadline that has passed (anyone may call it): an unrevealed
    /// secret forfeits the bond; a revealed one with no jury drawn voids the appeal; silent
    /// jurors are slashed `timeoutSlashBps` and the others go on to reveal; jurors that do
    /// not reveal are slashed `withheldSlashBps` and the rest decide.
    function advance(uint256 taskId) external {
        Appeal storage a = appeals[taskId];
        AppealState st = a.state;
        if (st == AppealState.Drawing) {
            if (block.number <= a.deadline) revert JuryDeadlineNotReached(taskId, a.deadline);
            if (a.seed == bytes32(0)) {
                // Not revealing is the appellant's way to drop a jury it computed and
                // disliked: it costs the bond and, for the dissenter, what losing costs.
                a.state = AppealState.Forfeited;
                uint256 lost = a.bond;
                TaskManager.Task memory t = tasks.getTask(taskId);
                address dissenter = t.seats[a.dissenter].node;
                if (a.appellant == dissenter) lost += registry.penalize(dissenter, taskId, params.loserSlashBps);
                _credit(taskId, tasks.getParams().treasury, lost, PaymentKind.Treasury);
            } else {
                a.state = AppealState.Void;
                _credit(taskId, a.appellant, a.bond, PaymentKind.BondRefund);
            }
            emit AppealDecided(taskId, a.state, 0, 0, 0);
            return;
        }
        if (st != AppealState.Judging && st != AppealState.Revealing) revert AppealWrongState(taskId, st);
        if (block.timestamp < a.deadline) revert JuryDeadlineNotReached(taskId, a.deadline);
        TaskManager.Params memory tp = tasks.getParams();
        uint256 id = taskId | JURY_BIT;
        if (st == AppealState.Judging) {
            for (uint256 i = 0; i < a.jurors.length; i++) {
                Juror storage j = a.jurors[i];
                if (j.status != JurorStatus.Selected) continue;
                j.status = JurorStatus.TimedOut;
                registry.releaseNode(j.node, id, NodeOutcome.Timeout, 0, tp.timeoutSlashBps);
            }
            if (a.commits > 0) {
                _openReveals(taskId, a);
                return;
            }
        } else {
            for (uint256 i = 0; i < a.jurors.length; i++) {
                Juror storage j = a.jurors[i];
                if (j.status != JurorStatus.Committed) continue;
                j.status = JurorStatus.Withheld;
                registry.releaseNode(j.node, id, NodeOutcome.Withheld, j.commitRank, tp.withheldSlashBps);
            }
        }
        _decide(taskId, a, tasks.getTask(taskId));
    }

    /// Pays the caller what appeals credited to it.
    function claim() external {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert AppealTransferFailed(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    function getAppeal(uint256 taskId) external view returns (Appeal memory) {
        return appeals[taskId];
    }

    /// The node of the task's outvoted seat, the one an appeal is about (zero: none).
    function dissenterOf(uint256 taskId) external view returns (address) {
        TaskManager.Task memory t = tasks.getTask(taskId);
        uint8 d = _dissenter(t);
        return d == 3 ? address(0) : t.seats[d].node;
    }

    /// Index of `node` among the task's jurors, or reverts with `NotJuror`.
    function jurorOf(uint256 taskId, address node) external view returns (uint256) {
        Appeal storage a = appeals[taskId];
        return _jurorIndex(a, taskId, node);
    }

    // ---------------------------------------------------------------- internals

    /// The one revealed seat whose score agrees with no other seat's while the task has a
    /// result, or 3 when there is none.
    function _dissenter(TaskManager.Task memory t) internal view returns (uint8) {
        if (t.result.length == 0) return 3;
        for (uint8 i = 0; i < 3; i++) {
            if (t.seats[i].status != TaskManager.SeatStatus.Revealed) continue;
            if (!tasks.scoresAgree(t.request.taskType, t.seats[i].score, t.result)) return i;
        }
        return 3;
    }

    function _jurorIndex(Appeal storage a, uint256 taskId, address node) internal view returns (uint256) {
        for (uint256 i = 0; i < a.jurors.length; i++) {
            if (a.jurors[i].node == node && node != address(0)) return i;
        }
        revert NotJuror(taskId, node);
    }

    function _filter(TaskManager.Task memory t) internal pure returns (NodeFilter memory f) {
        f.minVram = t.request.minVram;
        f.gpuId = t.gpuId;
        f.version = t.request.version;
        f.creator = t.creator;
        f.modelHashes = new bytes32[](t.request.modelIds.length);
        for (uint256 i = 0; i < t.request.modelIds.length; i++) {
            f.modelHashes[i] = keccak256(bytes(t.request.modelIds[i]));
        }
    }

    function _openReveals(uint256 taskId, Appeal storage a) internal {
        a.state = AppealState.Revealing;
        a.deadline = uint64(block.timestamp) + tasks.getParams().revealTimeout;
        emit JuryRevealPhase(taskId, a.deadline);
    }

    /// The jury's majority decides: more votes for the dissent than for the result
    /// overturns, any other split with at least one vote upholds (the status quo wins
    /// ties), no vote at all voids. Every node on the losing side loses `loserSlashBps`.
    function _decide(uint256 taskId, Appeal storage a, TaskManager.Task memory t) internal {
        uint8 m = a.majorityVotes;
        uint8 d = a.dissentVotes;
        AppealState outcome = d > m ? AppealState.Overturned : (m > 0 ? AppealState.Upheld : AppealState.Void);
        a.state = outcome;
        uint256 pot;
        if (outcome != AppealState.Void) {
            // Seats: in an overturn the two that agreed lose; when upheld the dissenter does.
            for (uint8 i = 0; i < 3; i++) {
                if (t.seats[i].status != TaskManager.SeatStatus.Revealed) continue;
                if ((outcome == AppealState.Overturned) != (i == a.dissenter)) {
                    pot += registry.penalize(t.seats[i].node, taskId, params.loserSlashBps);
                }
            }
        }
        uint256 winners;
        (pot, winners) = _releaseJurors(taskId, a, outcome, pot);
        a.pot = pot;
        emit AppealDecided(taskId, outcome, m, d, pot);
        _distribute(taskId, a, t, outcome, pot, winners);
    }

    /// Releases every juror: silent and withholding ones were slashed already; revealed
    /// ones on the winning side succeed, the others lose `loserSlashBps` into the pot.
    function _releaseJurors(uint256 taskId, Appeal storage a, AppealState outcome, uint256 pot)
        internal
        returns (uint256, uint256 winners)
    {
        Vote winning = outcome == AppealState.Overturned ? Vote.Dissent : Vote.Majority;
        uint256 id = taskId | JURY_BIT;
        for (uint256 i = 0; i < a.jurors.length; i++) {
            Juror storage j = a.jurors[i];
            if (j.status != JurorStatus.Revealed) continue;
            if (outcome == AppealState.Void) {
                registry.releaseNode(j.node, id, NodeOutcome.NoFault, j.commitRank, 0);
            } else if (j.vote == winning || j.vote == Vote.Both) {
                winners++;
                registry.releaseNode(j.node, id, NodeOutcome.Success, j.commitRank, 0);
            } else {
                pot += registry.penalize(j.node, taskId, params.loserSlashBps);
                registry.releaseNode(j.node, id, NodeOutcome.Dissent, j.commitRank, 0);
            }
        }
        return (pot, winners);
    }

    /// Pays the wronged out of the pot (the bond in an upheld appeal): in an overturn the
    /// creator's fee, the bond and the dissenter's slash come back; winning jurors earn
    /// `bond / jurySize`; the rest goes to the treasury.
    function _distribute(
        uint256 taskId,
        Appeal storage a,
        TaskManager.Task memory t,
        AppealState outcome,
        uint256 pot,
        uint256 winners
    ) internal {
        uint256 left = pot;
        if (outcome == AppealState.Upheld) {
            left += a.bond;
        } else {
            _credit(taskId, a.appellant, a.bond, PaymentKind.BondRefund);
        }
        if (outcome == AppealState.Overturned) {
            left -= _creditUpTo(taskId, t.creator, t.fee, left, PaymentKind.FeeRefund);
            address dissenter = t.seats[a.dissenter].node;
            left -= _creditUpTo(taskId, dissenter, registry.slashedOn(dissenter, taskId), left, PaymentKind.Restitution);
        }
        if (winners > 0) {
            Vote winning = outcome == AppealState.Overturned ? Vote.Dissent : Vote.Majority;
            uint256 pay = a.bond / a.jurors.length;
            for (uint256 i = 0; i < a.jurors.length; i++) {
                Juror storage j = a.jurors[i];
                if (j.status != JurorStatus.Revealed || (j.vote != winning && j.vote != Vote.Both)) continue;
                left -= _creditUpTo(taskId, j.node, pay, left, PaymentKind.JurorPay);
            }
        }
        _credit(taskId, tasks.getParams().treasury, left, PaymentKind.Treasury);
    }

    /// Credits `min(amount, available)` and returns it.
    function _creditUpTo(uint256 taskId, address to, uint256 amount, uint256 available, PaymentKind kind)
        internal
        returns (uint256 paid)
    {
        paid = amount < available ? amount : available;
        _credit(taskId, to, paid, kind);
    }

    function _credit(uint256 taskId, address to, uint256 amount, PaymentKind kind) internal {
        if (amount == 0) return;
        claimable[to] += amount;
        emit AppealPayment(taskId, to, kind, amount);
    }
}
