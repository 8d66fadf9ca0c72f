// Branch names kage creates beyond the per-clone ones (which the worktree manager owns).
import { taskShortId } from '../workspace/worktrees.js';

export { cloneBranchName, taskShortId } from '../workspace/worktrees.js';

/** Where a merge result is kept when the base checkout cannot be advanced. */
export function mergedBranch(taskId: string): string {
  return `kage/${taskShortId(taskId)}/merged`;
}
