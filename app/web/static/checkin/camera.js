// The camera: a live preview and still JPEG snapshots (selfies, room photos).
"use strict";

window.MusterCamera = {
  async start(video, facingMode) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return false;
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { facingMode, width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
      await video.play().catch(() => {});
      return true;
    } catch (error) {
      return false;
    }
  },

  stop(video) {
    const stream = video.srcObject;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  },

  // A JPEG of what the camera sees now (null when it shows nothing yet), at most maxWidth
  // pixels wide: the face engine looks at selfies no larger than 800 px anyway.
  snapshot(video, canvas, quality, maxWidth) {
    if (!video.videoWidth) return Promise.resolve(null);
    const scale = Math.min(1, (maxWidth || video.videoWidth) / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality || 0.9));
  },
};
