/** Pool, phase-transition and timeout reconcilers that keep warm pools converged (issue 3). */
package sh.navix.agentbox.reconciler;
