"""One room photo's analysis: the headcount (``vision.headcount``), who looks at the front
(``attention``), the course materials whose markers are in sight (``materials``) and the
photo's forensic facts, in one ``RoomAnalysis`` that becomes a ``PhotoAnalysed`` payload."""
