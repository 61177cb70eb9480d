"""The orchestrator: workflow, activities, worker, results bridge, intake API and CLI.

Import the modules themselves (`orchestrator.workflows`, `orchestrator.models`, …): this
package imports nothing, so the workflow sandbox does not rebuild models for every run.
"""
