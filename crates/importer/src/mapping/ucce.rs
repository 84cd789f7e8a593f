//! UCCE/PCCE ConfigAPI agents, agent teams and skill groups → a directory snapshot.
